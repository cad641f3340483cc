// The colour default in Debian's headless Chromium: a small generated set
// of coloured shapes (tests/data/colour_set.py: RGB, RGBA and palette
// PNGs and JPEGs of mixed sizes, 4 classes) uploaded as a zip; the run
// form offers the colour recipe (square 64x64x3 input, letterboxed, the resnet,
// augmentation, AdamW + cosine) and says so; a run with those defaults succeeds and
// its page names the recipe and why. Screenshots go to
// build/test-artifacts/. Ends with "N passed, N failed".
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ART, ROOT, SLOW, check, sleep, startStack, steps, stopStack } from './stack.mjs';

const PER_CLASS = 30;
const t = steps();
const step = t.step;
let st;
try {
  // the images: generated, never committed
  const gen = path.join(ROOT, 'tests', 'data', 'colour_set.py');
  st = await startStack('colour');
  const imgs = path.join(st.tmp, 'shapes');
  const zipPath = path.join(st.tmp, 'shapes.zip');
  execFileSync('/usr/bin/python3', [gen, 'shapes', imgs, '--per-class', String(PER_CLASS), '--seed', '3']);
  execFileSync('/usr/bin/python3', [gen, 'zip', imgs, zipPath]);

  const base = st.base;
  const page = await st.browser.newPage({ viewport: { width: 390, height: 900 } });
  const problems = [];
  page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', e => problems.push(String(e)));
  let projectUrl;

  await step('sign up, create a project, upload the colour zip', async () => {
    await page.goto(base + '/signup');
    await page.fill('input[name=username]', 'colouruser');
    await page.fill('input[name=password]', 'a long enough password');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/projects$/);
    await page.fill('input[name=name]', 'Shapes');
    await page.click('form[action="/projects"] button[type=submit]');
    await page.waitForURL(/\/projects\/\d+$/);
    projectUrl = page.url();
    await page.setInputFiles('input[name=file]', zipPath);
    await page.click('form.upload button[type=submit]');
    await page.waitForURL(/\/projects\/\d+\?uploaded=\d+/);
    const did = new URL(page.url()).searchParams.get('uploaded');
    const end = Date.now() + 60000 * SLOW;
    for (;;) {
      await page.goto(`${projectUrl}/datasets/${did}`);
      const body = await page.textContent('body');
      if (/ready/i.test(body) && body.includes('triangle')) break;
      check(Date.now() < end, 'the health report did not become ready: ' + body.slice(0, 400));
      await sleep(500);
    }
  });

  await step('the form offers the colour recipe and says why', async () => {
    await page.goto(projectUrl);
    const details = page.locator('details.run-new');
    if (await details.count() && (await details.getAttribute('open')) === null)
      await page.click('details.run-new > summary');
    const hint = await page.textContent('#recipe-hint');
    check(hint.includes(`colour, ${4 * PER_CLASS} images, 4 classes → resnet 16-32-64 at 64×64, augmentation on`),
      `recipe hint: ${hint}`);
    check(await page.inputValue('input[name=image_size]') === '64x64x3', 'colour size default');
    check(await page.isChecked('input[name=augment]'), 'augmentation not on by default');
    check(await page.inputValue('select[name=arch]') === 'resnet', 'arch default');
    check(await page.inputValue('select[name=optimizer]') === 'adamw', 'optimiser default');
    check(await page.inputValue('select[name=lr_schedule]') === 'cosine', 'schedule default');
    // wide and tall pictures keep their aspect (docs/preprocess.md)
    check(await page.inputValue('select[name=fit]') === 'letterbox', 'square-input policy default');
    check(hint.includes('letterbox (aspect kept, gray bars)'), `recipe hint: ${hint}`);
  });

  await step('a run with the colour defaults succeeds and names its recipe', async () => {
    await page.fill('input[name=epochs]', '3'); // quick; the recipe stays
    await page.click('#run-form button[type=submit]');
    await page.waitForURL(/\/runs\/\d+$/);
    const runUrl = page.url();
    const end = Date.now() + 180000 * SLOW;
    // the page follows the run by itself (SSE, a reload at the end)
    for (;;) {
      const st = await page.textContent('#run-status').catch(() => '');
      if (/succeeded|failed/.test(st)) break;
      check(Date.now() < end, `run still ${st}`);
      await sleep(500);
    }
    // the page reloads itself when the run ends; a goto racing that
    // reload is aborted (net::ERR_ABORTED), so it is tried again
    for (let i = 0; ; i++) {
      try {
        await page.goto(runUrl);
        break;
      } catch (e) {
        if (i >= 4) throw e;
        await sleep(300);
      }
    }
    check((await page.textContent('#run-status')).trim() === 'succeeded', 'run did not succeed');
    const r = await page.textContent('#recipe');
    check(r.includes(`colour, ${4 * PER_CLASS} images, 4 classes → resnet 16-32-64 at 64×64, augmentation on`)
      && !r.includes('changed'), `run page recipe: ${r}`);
    check((await page.textContent('#params')).includes('64x64x3'), 'image size not shown');
    check((await page.textContent('#fit')).includes('letterbox'), 'square-input policy not shown');
    // a phone-sized page does not scroll sideways
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(over <= 1, `page ${over}px wider than the phone`);
    await page.screenshot({ path: path.join(ART, 'colour-run.png'), fullPage: true });
  });

  await step('no script errors on the way', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
} catch (e) {
  t.failed++;
  console.log(`FAIL setup\n${e && e.stack || e}`);
} finally {
  t.failed += await stopStack(st);
}
console.log(`${t.passed} passed, ${t.failed} failed`);
process.exit(t.failed ? 1 : 0);
