// Reviewing a model in Debian's headless Chromium (issue 15), against the
// real web app and workers: two real runs on Fashion-MNIST PNGs, predict
// from the older run's page (its model, not the newest), one accuracy per
// run with the model's epoch marked, a confusion-matrix cell opens exactly
// its images, one of them larger with its path in the archive; the run
// form's toggle and disabled button. Screenshots go to
// build/test-artifacts/review-*.png. Ends with "N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';
import { ART, NAMES, SLOW, check, fashion, harness, sleep, zip } from './lib.mjs';
import { startStack, stopStack } from './stack.mjs';

const h = harness();
const CLASSES = [0, 2, 4, 6]; // T-shirt_top, Pullover, Coat, Shirt: often confused
const shot = (page, name) => page.screenshot({ path: path.join(ART, `review-${name}.png`), fullPage: true });

// Polls url until the text of sel matches re.
async function waitText(page, url, sel, re, ms, what) {
  const end = Date.now() + ms * SLOW;
  for (;;) {
    await page.goto(url);
    const t = await page.locator(sel).first().textContent().catch(() => '');
    if (re.test(t || '')) return t;
    check(Date.now() < end, `${what}: still "${t}"`);
    await sleep(500);
  }
}

// naturalWidth of every image matching sel once all have loaded (the CSP
// forbids eval, so no waitForFunction polling)
async function loaded(page, sel, ms = 10000) {
  const end = Date.now() + ms * SLOW;
  for (;;) {
    const s = await page.$$eval(sel, is => is.map(i => (i.complete ? i.naturalWidth : -1)));
    if (!s.includes(-1) || Date.now() > end) return s;
    await sleep(100);
  }
}

let stack;
try {
  stack = await startStack('review');
  const { base, browser, tmp } = stack;
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const problems = [];
  // the 409 of the dataset in use is meant; anything else (CSP, script) is not
  page.on('console', m => {
    if (m.type() === 'error' && !/status of 409/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', e => problems.push(String(e)));
  const imgs = fashion('train', 30, CLASSES);
  const zipPath = path.join(tmp, 'clothes.zip');
  // a planted copy: the same picture twice in one class folder
  const planted = { name: `clothes/${NAMES[imgs[0].cls]}/copy of ${imgs[0].i}.png`, data: imgs[0].png };
  fs.writeFileSync(zipPath, zip([...imgs.map(x => ({ name: `clothes/${NAMES[x.cls]}/${x.i}.png`, data: x.png })), planted]));
  let projectUrl, datasetUrl;
  const runs = []; // [{url, model}] oldest first

  await h.step('sign up, create a project', async () => {
    await page.goto(base + '/signup');
    await page.fill('input[name=username]', 'reviewer');
    await page.fill('input[name=password]', 'a long enough password');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/projects$/);
    await page.fill('input[name=name]', 'Clothes');
    await page.click('form[action="/projects"] button[type=submit]');
    await page.waitForURL(/\/projects\/\d+$/);
    projectUrl = page.url();
  });

  await h.step('"New run…" opens the form on the first click; a disabled Start looks disabled', async () => {
    await page.goto(projectUrl);
    check(!(await page.isVisible('#run-form')), 'the run form is open before any click');
    await page.click('details.run-new > summary');
    check(await page.isVisible('#run-form'), 'the first click did not open the form');
    check((await page.textContent('details.run-new > summary')).includes('Hide'), 'toggle text');
    const b = page.locator('#run-form button[type=submit]');
    check(await b.isDisabled(), 'Start run enabled without a ready dataset');
    const op = parseFloat(await b.evaluate(e => getComputedStyle(e).opacity));
    check(op < 0.7, `a disabled button looks enabled (opacity ${op})`);
    check(!(await page.textContent('#runs-table')).includes('form above'), 'empty text');
  });

  await h.step('upload with a progress bar; the status turns ready without a reload', async () => {
    const seen = [];
    await page.exposeFunction('tyProgress', v => seen.push(Number(v)));
    await page.evaluate(() => new MutationObserver(() => window.tyProgress(
      document.getElementById('upload-progress').value)).observe(
      document.getElementById('upload-progress'), { attributes: true }));
    await page.setInputFiles('input[name=file]', zipPath);
    await page.click('form.upload button[type=submit]');
    await page.waitForURL(/\?uploaded=\d+/);
    check(seen.length > 0 && seen[seen.length - 1] === 1, `progress seen: ${seen}`);
    const did = new URL(page.url()).searchParams.get('uploaded');
    datasetUrl = `${projectUrl}/datasets/${did}`;
    let loads = 0;
    page.on('load', () => loads++);
    const cell = page.locator(`#dataset-${did} td.ds-status .status`);
    const end = Date.now() + 60000 * SLOW;
    while (!/ready|unusable/.test(await cell.textContent())) {
      check(Date.now() < end, 'the status did not change');
      await sleep(250);
    }
    page.removeAllListeners('load');
    check(loads === 0, `the page reloaded ${loads} times`);
    check((await cell.textContent()) === 'ready', await cell.textContent());
    check(await page.getAttribute(`#dataset-${did} a.health-link`, 'href') === new URL(datasetUrl).pathname,
      'no link to the health page');
    await waitText(page, datasetUrl, '#dataset-status', /ready/, 60000, 'inspection');
  });

  await h.step('the health report finds the planted copy and warns of the leak', async () => {
    await page.goto(datasetUrl);
    const dup = await page.textContent('#duplicates');
    check(dup.includes(planted.name) && dup.includes(`clothes/${NAMES[imgs[0].cls]}/${imgs[0].i}.png`), dup);
    check(/identical/.test(dup), dup);
    check(/leakage/.test(await page.textContent('#warnings')), 'no leakage warning');
    // what each folder holds: 8 thumbnails per class, then "show more"
    const per = await page.$$eval('#classes .samples', ss => ss.map(s => ({
      n: s.querySelectorAll('img').length, ok: [...s.querySelectorAll('img')].every(i => i.naturalWidth === 28),
      more: !!s.querySelector('a.more') })));
    check(per.length === CLASSES.length && per.every(p => p.n === 8 && p.ok && p.more), JSON.stringify(per));
    await shot(page, 'health');
    await page.click('#classes .samples a.more');
    check(await page.locator('#samples img').count() === 24, 'show more');
  });

  for (const [label, arch] of [['older', 'cnn'], ['newer', 'mlp']]) {
    await h.step(`train the ${label} run (${arch}) with the form`, async () => {
      await page.goto(projectUrl);
      await page.click('details.run-new > summary');
      await page.selectOption('select[name=arch]', arch);
      await page.fill('input[name=epochs]', '4');
      check(!(await page.isVisible('input[name=lr]')), 'the learning rate is not folded away');
      await page.click('#advanced > summary');
      check((await page.textContent('#advanced')).includes('step size'), 'no help from the parameter table');
      await page.uncheck('input[name=early_stopping]');
      await page.click('#run-form button[type=submit]');
      await page.waitForURL(/\/runs\/\d+$/);
      const url = page.url();
      // polled on the project page: every load of a running run's page
      // opens an event stream, and the server caps those per user
      const rid = url.split('/').pop();
      await waitText(page, projectUrl, `#runs-table tr[data-run="${rid}"] .status`,
        /succeeded|failed|cancelled/, 180000, `${label} run`);
      await page.goto(url);
      check((await page.textContent('#run-status')).trim() === 'succeeded',
        `run ${label}: ${await page.textContent('body')}`);
      const href = await page.getAttribute('a:has-text("Predict with this model")', 'href');
      runs.push({ url, model: href.match(/model_id=(\d+)/)[1] });
    });
  }

  await h.step('one accuracy per run: the model\'s, its epoch marked on both charts', async () => {
    await page.goto(runs[0].url);
    const head = (await page.textContent('#run-best')).trim();
    const card = (await page.textContent('#val-acc')).trim();
    check(head === card, `header says ${head}, results say ${card}`);
    check(/model val acc \(epoch \d+\)/.test(await page.textContent('#run-acc-label')), 'label');
    check(await page.locator('#run-charts g.mark').count() === 2, 'kept epoch not marked');
    check((await page.textContent('h1')).includes('Run #1'), 'numbered in its project');
  });

  await h.step('predict from the older run\'s page uses the older model', async () => {
    await page.goto(runs[0].url);
    await page.click('text=Predict with this model');
    await page.waitForURL(/\/predict\?model_id=\d+/);
    check(await page.inputValue('select[name=model_id]') === runs[0].model,
      `preselected ${await page.inputValue('select[name=model_id]')}, wanted ${runs[0].model}`);
    const test = fashion('t10k', 1, [2]);
    await page.setInputFiles('input[name=images]', [{ name: 'pullover.png', mimeType: 'image/png', buffer: test[0].png }]);
    await page.click('form.predict button[type=submit]');
    await page.waitForSelector('#results', { timeout: 30000 * SLOW });
    const hdr = await page.textContent('#results-model');
    check(hdr.includes(`model #${runs[0].model} `) && hdr.includes('run #1'), `results from ${hdr}`);
    check(hdr.includes('1 image ') || hdr.startsWith('1 image'), hdr);
    check(await page.inputValue('select[name=model_id]') === runs[0].model, 'the choice was not kept');
  });

  await h.step('a confusion-matrix cell opens exactly its images', async () => {
    await page.goto(runs[0].url);
    const classNames = (await page.locator('#confusion th.cm-col').allTextContents()).map(t => t.trim());
    const cells = await page.$$eval('#confusion tbody td a', as => as.map(a => ({
      href: a.getAttribute('href'), v: Number(a.textContent) })));
    check(cells.length === CLASSES.length ** 2, `${cells.length} cells`);
    // the fullest mistake cell (a diagonal one if the model made none)
    const off = cells.filter((c, k) => k % (CLASSES.length + 1) !== 0 && c.v > 0);
    const cell = (off.length ? off : cells).reduce((a, b) => (b.v > a.v ? b : a));
    await page.click(`#confusion a[href="${cell.href}"]`);
    await page.waitForURL(/\/mistakes\?true=\d+&pred=\d+/);
    const n = await page.locator('#gallery li').count();
    check(n === Math.min(cell.v, 48), `cell says ${cell.v}, gallery shows ${n}`);
    check((await page.textContent('#gallery-count')).startsWith(`${cell.v} image`), 'count text');
    const widths = await loaded(page, '#gallery img');
    check(widths.every(w => w === 28), `thumbnails: ${widths}`);
    const q = new URL(page.url()).searchParams;
    const want = [classNames[+q.get('true')], classNames[+q.get('pred')]];
    for (const t of await page.locator('#gallery li').allTextContents())
      check(t.includes(want[0]) && t.includes(want[1]), `an image of another cell: ${t}`);
    // the diagonal's count too, from its own link
    const diag = cells[0];
    await page.goto(new URL(diag.href, base).href);
    check((await page.textContent('#gallery-count')).startsWith(`${diag.v} image`), 'diagonal count');
  });

  await h.step('all mistakes, most confident first; one opens larger with its archive path', async () => {
    await page.goto(runs[0].url);
    await page.click('#mistakes-link');
    await page.waitForURL(/\/mistakes$/);
    const conf = (await page.locator('#gallery .conf').allTextContents()).map(parseFloat);
    for (let k = 1; k < conf.length; k++) check(conf[k] <= conf[k - 1], `not sorted: ${conf}`);
    check((await loaded(page, '#gallery img')).every(w => w > 0), 'a thumbnail did not load');
    await shot(page, 'gallery');
    if (conf.length === 0) return; // a perfect model: nothing to open
    await page.click('#gallery li a');
    await page.waitForURL(/\/mistakes\/\d+$/);
    const p = (await page.textContent('#archive-path')).trim();
    check(/^clothes\/[^/]+\/\d+\.png$/.test(p), `archive path ${p}`);
    const folder = p.split('/')[1];
    check((await page.textContent('h1')).startsWith(folder), 'the label is the folder');
    const w = await page.$eval('#big-image', i => i.complete && i.getBoundingClientRect().width);
    check(w >= 200, `image not shown larger (${w}px)`);
    // the original file, from the uploaded archive, byte for byte
    check((await loaded(page, '#original-image'))[0] === 28, 'original not shown');
    const orig = await page.request.get(new URL(await page.getAttribute('#original-link', 'href'), page.url()).href);
    const want = imgs.find(x => p.endsWith(`/${x.i}.png`) && p.includes(`/${NAMES[x.cls]}/`));
    check(orig.headers()['content-type'] === 'image/png' && want &&
      Buffer.compare(await orig.body(), want.png) === 0, 'not the original bytes');
    await shot(page, 'mistake');
  });

  await h.step('rename a run; compare two runs: overlays, the parameters that differ, two matrices', async () => {
    await page.goto(runs[1].url);
    await page.click('#describe summary');
    await page.fill('#describe input[name=name]', 'dense baseline');
    await page.fill('#describe textarea[name=note]', 'mlp instead of cnn, same epochs');
    await Promise.all([page.waitForNavigation(), page.click('#describe button')]);
    check((await page.textContent('#run-name')) === 'dense baseline', 'not renamed');
    check((await page.textContent('#run-note')).includes('mlp instead'), 'note');
    await page.goto(projectUrl);
    check((await page.textContent('#runs-table')).includes('dense baseline'), 'runs table');
    for (const r of runs) await page.check(`#runs-table input[value="${r.url.split('/').pop()}"]`);
    await Promise.all([page.waitForNavigation(), page.click('#compare-full')]);
    check(/\/compare\?/.test(page.url()), page.url());
    check(await page.locator('#chart-compare-loss').count() === 1 &&
      await page.locator('#chart-compare').count() === 1, 'overlays');
    const diff = (await page.locator('#param-diff tr.diff th').allTextContents()).map(t => t.trim());
    check(diff.includes('Architecture') && !diff.includes('Epochs'), `diff rows: ${diff}`);
    check(await page.locator('#compare-matrices table.confusion').count() === 2, 'matrices');
    check((await page.textContent('#compare-runs, .compare-runs')).includes('dense baseline'), 'labels');
    await shot(page, 'compare');
  });

  await h.step('the same archive again: the page says so and offers the existing one', async () => {
    await page.goto(projectUrl);
    await page.setInputFiles('input[name=file]', zipPath);
    await page.click('form.upload button[type=submit]');
    await page.waitForURL(/\?duplicate=\d+/);
    check((await page.textContent('#duplicate')).includes('already in the project'), 'message');
    await page.click('#duplicate a');
    check(page.url() === datasetUrl, `offered ${page.url()}`);
  });

  await h.step('every destructive button asks first: a dialog with JS, a page without', async () => {
    await page.goto(base + '/account');
    await page.fill('input[name=name]', 'laptop');
    await Promise.all([page.waitForNavigation(), page.click('form.inline-form button')]);
    const buttons = [[runs[1].url, '#run-delete'], [datasetUrl, '#dataset-delete'],
      [projectUrl, '#project-delete'], [base + '/account', 'form.confirm[action*="/revoke"] button']];
    for (const [url, sel] of buttons) {
      await page.goto(url);
      let asked = null;
      page.once('dialog', d => { asked = d.message(); d.dismiss(); });
      await page.click(sel);
      await sleep(300);
      check(asked && /cannot be undone|refused from now on/.test(asked), `${sel}: no dialog (${asked})`);
      check(page.url() === url, `${sel}: dismissing still left the page`);
    }
    const nojs = await browser.newContext({ javaScriptEnabled: false });
    await nojs.addCookies(await page.context().cookies());
    const p2 = await nojs.newPage();
    for (const [url, sel] of buttons) {
      await p2.goto(url);
      await Promise.all([p2.waitForNavigation(), p2.click(sel)]);
      check(await p2.isVisible('#confirm-question'), `${sel}: no confirmation page`);
      check(await p2.locator('#confirm form[method=post] input[name=csrf]').count() === 1, 'csrf');
    }
    await shot(p2, 'confirm');
    // "No, keep it" changes nothing
    await p2.click('#confirm-no');
    check(p2.url() === base + '/account', p2.url());
    await nojs.close();
  });

  await h.step('a dataset in use is not deleted; renamed; one without runs is', async () => {
    await page.goto(datasetUrl);
    page.once('dialog', d => d.accept());
    await Promise.all([page.waitForNavigation(), page.click('#dataset-delete')]);
    const msg = await page.textContent('main');
    check(/cannot be deleted/.test(msg) && /run[s]? #1, #2/.test(msg), msg.slice(0, 300));
    await page.goto(datasetUrl);
    await page.fill('#rename input[name=name]', 'clothes (checked)');
    await Promise.all([page.waitForNavigation(), page.click('#rename button')]);
    check((await page.textContent('h1')).includes('clothes (checked)'), 'not renamed');
    // a second, unused dataset goes
    await page.goto(projectUrl);
    const few = imgs.slice(0, 8).map(x => ({ name: `few/${NAMES[x.cls]}/${x.i}.png`, data: x.png }));
    fs.writeFileSync(path.join(tmp, 'few.zip'), zip(few));
    await page.setInputFiles('input[name=file]', path.join(tmp, 'few.zip'));
    await page.click('form.upload button[type=submit]');
    await page.waitForURL(/\?uploaded=\d+/);
    const did = new URL(page.url()).searchParams.get('uploaded');
    await page.goto(`${projectUrl}/datasets/${did}`);
    page.once('dialog', d => d.accept());
    await Promise.all([page.waitForNavigation(), page.click('#dataset-delete')]);
    check(page.url().startsWith(projectUrl) && !(await page.content()).includes('few.zip'), 'not deleted');
  });

  await h.step('at 390 px no main page scrolls sideways', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.context().addCookies(await page.context().cookies());
    const pages = [base + '/projects', projectUrl, datasetUrl, runs[0].url, runs[1].url,
      runs[0].url + '/mistakes', runs[0].url + '/mistakes?true=0&pred=0', projectUrl + '/predict',
      projectUrl + '/runs/new', base + '/account',
      `${projectUrl}/compare?compare=${runs[0].url.split('/').pop()}&compare=${runs[1].url.split('/').pop()}`, `${projectUrl}?compare=${runs[0].url.split('/').pop()}&compare=${runs[1].url.split('/').pop()}`];
    const wide = [];
    for (const url of pages) {
      await phone.goto(url);
      const w = await phone.evaluate(() => document.documentElement.scrollWidth);
      if (w > 390) {
        const culprits = await phone.evaluate(() => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > 391).slice(0, 4)
          .map(e => `${e.tagName}.${e.className}#${e.id}`));
        wide.push(`${url} is ${w}px (${culprits.join(' ')})`);
      }
    }
    await phone.goto(runs[0].url);
    const bar = await phone.$eval('.topbar-inner', e => e.getBoundingClientRect().height);
    if (bar > 60) wide.push(`the top bar takes ${bar}px: more than one line`);
    const small = await phone.$$eval('#run-charts svg text', ts => ts
      .map(t => t.getBoundingClientRect().height).filter(h => h > 0 && h < 11).length);
    if (small) wide.push(`${small} chart labels are under 11 px`);
    await shot(phone, 'phone-run');
    await phone.goto(runs[0].url + '/mistakes');
    await shot(phone, 'phone-gallery');
    await phone.close();
    check(wide.length === 0, wide.join('\n'));
  });

  await h.step('no console errors or CSP violations', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
} catch (e) {
  h.failed++;
  console.log(`FAIL setup\n${e && e.stack || e}`);
} finally {
  h.failed += await stopStack(stack);
}
console.log(`${h.passed} passed, ${h.failed} failed`);
process.exit(h.failed ? 1 : 0);
