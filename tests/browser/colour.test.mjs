// The colour default in Debian's headless Chromium: a small generated set
// of coloured shapes (tests/data/colour_set.py: RGB, RGBA and palette
// PNGs and JPEGs of mixed sizes, 4 classes) uploaded as a zip; the run
// form offers the colour recipe (square 64x64x3 input, the resnet,
// augmentation, AdamW + cosine) and says so; a run with those defaults succeeds and
// its page names the recipe and why. Screenshots go to
// build/test-artifacts/. Ends with "N passed, N failed".
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

const ROOT = process.env.ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const BIN = process.env.BIN || path.join(ROOT, 'bin');
const ART = path.join(ROOT, 'build', 'test-artifacts');
const LOGS = process.env.TEST_LOGS || path.join(ROOT, 'build', 'test-logs');
const SLOW = process.env.SAN === '1' ? 3 : 1;
const PER_CLASS = 30;
fs.mkdirSync(ART, { recursive: true });
fs.mkdirSync(LOGS, { recursive: true });

let passed = 0, failed = 0, skipped = false;
async function step(name, fn) {
  if (skipped) { failed++; console.log(`FAIL ${name} (an earlier step failed)`); return; }
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    skipped = true;
    console.log(`FAIL ${name}\n${e && e.stack || e}`);
  }
}
function check(cond, msg) { if (!cond) throw new Error(msg); }
const sleep = ms => new Promise(r => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}
async function waitHealthy(url, proc, name, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`${name} exited ${proc.exitCode}`);
    try { const r = await fetch(url + '/healthz'); if (r.ok) return; } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`${name} did not become healthy`);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ty-colour-'));
const vol = { TRAINYARD_DATA_DIR: path.join(tmp, 'data'), TRAINYARD_MODELS_DIR: path.join(tmp, 'models'),
  TRAINYARD_SERVICE_TOKEN: process.env.TRAINYARD_SERVICE_TOKEN || crypto.randomBytes(32).toString('hex') };
fs.mkdirSync(vol.TRAINYARD_DATA_DIR, { recursive: true });
fs.mkdirSync(vol.TRAINYARD_MODELS_DIR, { recursive: true });
const procs = [];
async function service(name, env = {}) {
  const port = await freePort();
  const log = fs.openSync(path.join(LOGS, `colour-${name}-${port}.log`), 'a');
  const p = spawn(path.join(BIN, name), [], {
    cwd: ROOT, stdio: ['ignore', log, log],
    env: { ...process.env, ...vol, TRAINYARD_PORT: String(port), ...env },
  });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, p, name);
  return url;
}

let browser;
try {
  // the images: generated, never committed
  const gen = path.join(ROOT, 'tests', 'data', 'colour_set.py');
  const imgs = path.join(tmp, 'shapes');
  const zipPath = path.join(tmp, 'shapes.zip');
  execFileSync('/usr/bin/python3', [gen, 'shapes', imgs, '--per-class', String(PER_CLASS), '--seed', '3']);
  execFileSync('/usr/bin/python3', [gen, 'zip', imgs, zipPath]);

  const pre = await service('trainyard-preprocess');
  const train = await service('trainyard-train');
  const infer = await service('trainyard-infer'); // the run page's pictures
  const base = await service('trainyard-web', {
    TRAINYARD_DB: path.join(tmp, 'db', 'ty.db'), TRAINYARD_PREPROCESS_URL: pre,
    TRAINYARD_TRAIN_URL: train, TRAINYARD_INFER_URL: infer, TRAINYARD_POLL_MS: '150',
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 390, height: 900 } });
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
    await page.goto(runUrl);
    check((await page.textContent('#run-status')).trim() === 'succeeded', 'run did not succeed');
    const r = await page.textContent('#recipe');
    check(r.includes(`colour, ${4 * PER_CLASS} images, 4 classes → resnet 16-32-64 at 64×64, augmentation on`)
      && !r.includes('changed'), `run page recipe: ${r}`);
    check((await page.textContent('#params')).includes('64x64x3'), 'image size not shown');
    // a phone-sized page does not scroll sideways
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(over <= 1, `page ${over}px wider than the phone`);
    await page.screenshot({ path: path.join(ART, 'colour-run.png'), fullPage: true });
  });

  await step('no script errors on the way', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
} catch (e) {
  failed++;
  console.log(`FAIL setup\n${e && e.stack || e}`);
} finally {
  if (browser) await browser.close();
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
