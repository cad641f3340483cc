// The whole flow as a person does it, in Debian's headless Chromium: sign
// up, create a project, upload a zip of Fashion-MNIST PNGs in class
// folders (made here from /usr/share/datasets/fashion-mnist), read the
// health report, start a run with the form, watch the progress bar move
// and the chart grow (Server-Sent Events), see the confusion matrix, then
// classify two images with the model. Screenshots of the run page and the
// results page go to build/test-artifacts/. Ends with "N passed, N failed".
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { ART, BIN, LOGS, NAMES, ROOT, SLOW, fashion, freePort, sleep, waitHealthy, zip } from './lib.mjs';

let passed = 0, failed = 0, skipped = false;
async function step(name, fn) {
  if (skipped) { failed++; console.log(`FAIL ${name} (an earlier step failed)`); return; }
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    skipped = true; // the flow is a sequence: later steps need this one
    console.log(`FAIL ${name}\n${e && e.stack || e}`);
  }
}
function check(cond, msg) { if (!cond) throw new Error(msg); }

// ---- services -----------------------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ty-flow-'));
// The service token the four share (docs/jobs.md): workers refuse to run without one.
const vol = { TRAINYARD_DATA_DIR: path.join(tmp, 'data'), TRAINYARD_MODELS_DIR: path.join(tmp, 'models'),
  TRAINYARD_SERVICE_TOKEN: process.env.TRAINYARD_SERVICE_TOKEN || crypto.randomBytes(32).toString('hex') };
fs.mkdirSync(vol.TRAINYARD_DATA_DIR, { recursive: true });
fs.mkdirSync(vol.TRAINYARD_MODELS_DIR, { recursive: true });
const procs = [];
async function service(name, env = {}) {
  const port = await freePort();
  const log = fs.openSync(path.join(LOGS, `flow-${name}-${port}.log`), 'a');
  const p = spawn(path.join(BIN, name), [], {
    cwd: ROOT, stdio: ['ignore', log, log],
    env: { ...process.env, ...vol, TRAINYARD_PORT: String(port), ...env },
  });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, p, name);
  return url;
}
const hasInfer = fs.existsSync(path.join(BIN, 'trainyard-infer'));

let browser;
try {
  const pre = await service('trainyard-preprocess');
  const train = await service('trainyard-train');
  const infer = hasInfer ? await service('trainyard-infer') : 'http://127.0.0.1:9';
  const base = await service('trainyard-web', {
    TRAINYARD_DB: path.join(tmp, 'db', 'ty.db'), TRAINYARD_PREPROCESS_URL: pre,
    TRAINYARD_TRAIN_URL: train, TRAINYARD_INFER_URL: infer, TRAINYARD_POLL_MS: '150',
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const problems = [];
  // the 400 of the mistyped form is meant; anything else (CSP, script) is not
  page.on('console', m => {
    if (m.type() === 'error' && !/status of 400/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', e => problems.push(String(e)));
  const train30 = fashion('train', 40); // 400 images
  const zipPath = path.join(tmp, 'fashion.zip');
  fs.writeFileSync(zipPath, zip(train30.map(x => ({
    name: `fashion/${NAMES[x.cls]}/${x.i}.png`, data: x.png }))));
  let projectUrl, runUrl;

  await step('sign up and create a project', async () => {
    await page.goto(base + '/signup');
    await page.fill('input[name=username]', 'flowuser');
    await page.fill('input[name=password]', 'a long enough password');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/projects$/);
    await page.fill('input[name=name]', 'Fashion');
    await page.click('form[action="/projects"] button[type=submit]');
    await page.waitForURL(/\/projects\/\d+$/);
    projectUrl = page.url();
  });

  await step('upload the zip of PNG class folders', async () => {
    await page.setInputFiles('input[name=file]', zipPath);
    await page.click('form.upload button[type=submit]');
    await page.waitForURL(/\/projects\/\d+\?uploaded=\d+/);
    check(await page.isVisible('text=fashion.zip'), 'upload not listed');
  });

  await step('see the health report', async () => {
    const did = new URL(page.url()).searchParams.get('uploaded');
    const url = `${projectUrl}/datasets/${did}`;
    const end = Date.now() + 60000 * SLOW;
    for (;;) {
      await page.goto(url);
      const body = await page.textContent('body');
      if (/ready/i.test(body) && body.includes('Ankle_boot')) break;
      check(Date.now() < end, 'the health report did not become ready: ' + body.slice(0, 400));
      await sleep(500);
    }
    const body = await page.textContent('body');
    for (const n of NAMES) check(body.includes(n), `class ${n} missing from the report`);
    await page.screenshot({ path: path.join(ART, 'flow-dataset.png'), fullPage: true });
  });

  await step('a mistyped form comes back with messages', async () => {
    await page.goto(projectUrl);
    const details = page.locator('details.run-new');
    if (!(await details.getAttribute('open') !== null)) await page.click('details.run-new > summary');
    await page.click('#advanced > summary'); // the learning rate is under "Advanced"
    check(await page.inputValue('input[name=image_size]') === '28x28x1', 'image size default');
    check(await page.inputValue('select[name=arch]') === 'cnn', 'arch default');
    await page.fill('input[name=epochs]', '0');
    await page.fill('input[name=lr]', '-1');
    await page.click('#run-form button[type=submit]');
    await page.waitForSelector('.field-error');
    const errs = await page.locator('.field-error').allTextContents();
    check(errs.length === 2 && /Epochs/.test(errs.join()) && /Learning rate/.test(errs.join()),
      `messages: ${errs}`);
    check(await page.inputValue('input[name=lr]') === '-1', 'typed value not kept');
    await page.screenshot({ path: path.join(ART, 'flow-form-errors.png'), fullPage: true });
  });

  await step('start a run with the form (defaults, early stopping off)', async () => {
    await page.fill('input[name=lr]', '0.002');
    await page.uncheck('input[name=early_stopping]');
    await page.fill('input[name=epochs]', '16');
    // 64x64 makes an epoch long enough for the event stream's 0.4 s ticks
    // to see the bar move: since the direct conv kernels, twelve 28x28
    // epochs of 360 images ended between two ticks on a quiet machine
    await page.fill('input[name=image_size]', '64x64x1');
    await page.click('#run-form button[type=submit]');
    await page.waitForURL(/\/runs\/\d+$/);
    runUrl = page.url();
  });

  await step('watch the progress bar move and the chart grow (SSE)', async () => {
    const seen = new Set(), points = new Set(), stages = new Set();
    let loads = 0, shot = false;
    page.on('load', () => loads++);
    const end = Date.now() + 120000 * SLOW;
    while (Date.now() < end) {
      const s = await page.evaluate(() => ({
        v: document.getElementById('run-progress') && document.getElementById('run-progress').value,
        pts: document.querySelectorAll('#chart-acc circle').length,
        st: document.getElementById('run-status') && document.getElementById('run-status').textContent,
        cm: !!document.getElementById('confusion'),
      })).catch(() => null); // a reload in between
      if (s) {
        if (s.v !== null && s.v !== undefined) seen.add(s.v);
        points.add(`${loads}:${s.pts}`); // chart size within one page load
        stages.add(s.st);
        if (s.cm) break;
        if (!shot && s.pts >= 4 && s.st === 'training') {
          shot = true; // the page mid-run, as the person watches it
          await page.screenshot({ path: path.join(ART, 'flow-run-live.png'), fullPage: true }).catch(() => {});
        }
      }
      await sleep(50);
    }
    check(await page.isVisible('#confusion'), 'no confusion matrix after the run');
    check(seen.size >= 3, `progress bar did not move: ${[...seen]}`);
    const perLoad = {};
    for (const k of points) {
      const [l, n] = k.split(':').map(Number);
      if (n > 0) perLoad[l] = (perLoad[l] || 0) + 1;
    }
    check(Object.values(perLoad).some(v => v >= 2),
      `chart did not grow without a reload: ${[...points]}`);
    check(stages.has('training'), `never saw training: ${[...stages]}`);
    // reloads: entering training, and at the end; the rest came by SSE
    check(loads <= 3, `page reloaded ${loads} times (updates should come by SSE)`);
  });

  await step('see results: confusion matrix, per-class table, model links', async () => {
    check((await page.textContent('#run-status')).trim() === 'succeeded', 'run did not succeed');
    const cells = await page.locator('#confusion td').count();
    check(cells === 100, `confusion matrix has ${cells} cells`);
    const acc = parseFloat(await page.textContent('#val-acc'));
    check(acc > 0.5, `val acc ${acc}`);
    check(await page.isVisible('text=Download model'), 'no download link');
    await page.screenshot({ path: path.join(ART, 'flow-run.png'), fullPage: true });
  });

  await step('classify two images with the model', async () => {
    await page.click('text=Predict with this model');
    await page.waitForURL(/\/predict\?model_id=\d+/);
    const test = fashion('t10k', 1);
    const two = [test[0], test[9]];
    await page.setInputFiles('input[name=images]', two.map(x => ({
      name: `${NAMES[x.cls]}.png`, mimeType: 'image/png', buffer: x.png })));
    await page.click('form.predict button[type=submit]');
    await page.waitForSelector('#results', { timeout: 30000 * SLOW });
    const labels = await page.locator('#results .label').allTextContents();
    check(labels.length === 2, `expected two labels, got ${labels}`);
    for (const l of labels) check(NAMES.includes(l.trim()), `unknown label ${l}`);
    await page.screenshot({ path: path.join(ART, 'flow-results.png'), fullPage: true });
  });

  await step('the project page lists the run as best, with its model', async () => {
    await page.goto(projectUrl);
    check(await page.locator('#runs-table tr.best-run').count() === 1, 'best run not marked');
    check(await page.locator('.models-table a:has-text("Predict")').count() === 1, 'model not listed');
    await page.screenshot({ path: path.join(ART, 'flow-project.png'), fullPage: true });
  });

  await step('no script errors or CSP violations on the way', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
} catch (e) {
  failed++;
  console.log(`FAIL setup\n${e && e.stack || e}`);
} finally {
  if (browser) await browser.close();
  // each service must stop cleanly (a sanitizer report makes it exit non-zero)
  const exits = procs.map(p => p.exitCode !== null ? Promise.resolve(p.exitCode)
    : new Promise(res => p.on('exit', (code, sig) => res(code === null ? sig : code))));
  for (const p of procs) p.kill('SIGTERM');
  const codes = await Promise.race([Promise.all(exits), sleep(30000).then(() => null)]);
  if (!codes) { failed++; console.log('FAIL services did not stop within 30 s'); procs.forEach(p => p.kill('SIGKILL')); }
  else if (codes.some(c => c !== 0)) { failed++; console.log(`FAIL a service exited with ${codes}`); }
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
