// Browser test of the dataset health page, the predict page and the
// account page in Debian's headless Chromium, against the real web app,
// preprocess and infer workers and a tiny model trained by the real train
// worker: what a person sees, previews before sending (static/predict.js),
// thumbnails that load under the CSP, no console errors. Screenshots go to
// build/test-artifacts/predict-*.png. Ends with "N passed, N failed".
import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = process.env.ROOT || path.resolve(HERE, '../..');
const BIN = process.env.BIN || path.join(ROOT, 'bin');
const ART = path.join(ROOT, 'build', 'test-artifacts');
const LOGS = process.env.TEST_LOGS || path.join(ROOT, 'build', 'test-logs');
fs.mkdirSync(ART, { recursive: true });
fs.mkdirSync(LOGS, { recursive: true });

let passed = 0, failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n${e && e.stack || e}`);
  }
}
function check(cond, msg) { if (!cond) throw new Error(msg); }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

async function waitHealthy(url, proc, name, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`${name} exited ${proc.exitCode}`);
    try { const r = await fetch(url + '/healthz'); if (r.ok) return; } catch { /* not yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`${name} did not become healthy`);
}

function py(...args) {
  const r = spawnSync('/usr/bin/python3', [path.join(HERE, 'predict_setup.py'), ...args],
    { env: { ...process.env, BIN }, encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) throw new Error(`predict_setup.py ${args[0]}: ${r.stderr}`);
  return r.stdout.trim();
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ty-browser-predict-'));
// The service token the four share (docs/jobs.md): workers refuse to run without one.
const env = { ...process.env, TRAINYARD_DATA_DIR: path.join(tmp, 'data'),
  TRAINYARD_MODELS_DIR: path.join(tmp, 'models'), TRAINYARD_THREADS: '1',
  TRAINYARD_SERVICE_TOKEN: process.env.TRAINYARD_SERVICE_TOKEN || crypto.randomBytes(32).toString('hex') };
const procs = [];
async function start(bin, port, extra = {}) {
  const log = fs.openSync(path.join(LOGS, `browser-${bin}-${port}.log`), 'a');
  const p = spawn(path.join(BIN, bin), [], { cwd: ROOT,
    env: { ...env, TRAINYARD_PORT: String(port), ...extra }, stdio: ['ignore', log, log] });
  procs.push(p);
  await waitHealthy(`http://127.0.0.1:${port}`, p, bin);
  return p;
}

let browser;
try {
  py('model', tmp);
  py('files', tmp);
  const [pp, ip, wp] = [await freePort(), await freePort(), await freePort()];
  await start('trainyard-preprocess', pp);
  await start('trainyard-infer', ip);
  const db = path.join(tmp, 'db', 'ty.db');
  await start('trainyard-web', wp, { TRAINYARD_DB: db,
    TRAINYARD_PREPROCESS_URL: `http://127.0.0.1:${pp}`, TRAINYARD_INFER_URL: `http://127.0.0.1:${ip}` });
  const base = `http://127.0.0.1:${wp}`;

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = [];
  page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', e => problems.push(String(e)));
  let projectUrl;

  await step('sign up, create a project, upload a dataset', async () => {
    await page.goto(base + '/signup');
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'correct horse battery');
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    await page.fill('input[name=name]', 'Bars');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/projects"] button')]);
    projectUrl = page.url();
    check(/\/projects\/\d+$/.test(projectUrl), projectUrl);
    await page.setInputFiles('input[name=file]', path.join(tmp, 'bars.zip'));
    await Promise.all([page.waitForNavigation(), page.click('form.upload button')]);
  });

  await step('the health page refreshes itself until the report is there', async () => {
    await Promise.all([page.waitForNavigation(), page.click('td.file a')]);
    check(/\/datasets\/\d+$/.test(page.url()), page.url());
    await page.waitForSelector('#usable', { timeout: 30000 });
    const rows = await page.$$eval('.class-row', rs => rs.map(r => ({
      name: r.querySelector('.class-name').textContent,
      count: r.querySelector('.class-count').textContent,
      width: r.querySelector('svg.bar').getBoundingClientRect().width,
      fill: r.querySelector('rect').getBoundingClientRect().width })));
    check(rows.length === 3, JSON.stringify(rows));
    for (const r of rows) {
      check(r.count === '12', JSON.stringify(rows));
      check(r.width > 100 && Math.abs(r.fill - r.width) < 1, `bar not full: ${JSON.stringify(r)}`);
    }
    check((await page.textContent('#skipped')).includes('readme.txt'), 'skipped file not listed');
    await page.screenshot({ path: path.join(ART, 'predict-health.png'), fullPage: true });
  });

  await step('predict: preview before sending, then labels and thumbnails', async () => {
    const pid = projectUrl.match(/(\d+)$/)[1];
    py('register', db, pid);
    await page.goto(projectUrl + '/predict');
    const imgs = ['h-gray.png', 'v-rgba.png', 'sq-rgb.png'].map(f => path.join(tmp, 'img', f));
    await page.setInputFiles('#predict-images', imgs);
    await page.waitForFunction(() => [...document.querySelectorAll('#preview img')]
      .filter(i => i.complete && i.naturalWidth > 0).length === 3, null, { timeout: 5000 });
    await page.screenshot({ path: path.join(ART, 'predict-preview.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('form.predict button[type=submit]')]);
    const res = await page.$$eval('#results figure.result', fs => fs.map(f => ({
      name: f.querySelector('.file').textContent,
      label: f.querySelector('.label') && f.querySelector('.label').textContent,
      thumb: f.querySelector('img.thumb') && f.querySelector('img.thumb').naturalWidth })));
    check(res.length === 3, JSON.stringify(res));
    const want = { 'h-gray.png': 'h', 'v-rgba.png': 'v', 'sq-rgb.png': 'sq' };
    for (const r of res) {
      check(r.label === want[r.name], `label of ${r.name}: ${r.label}`);
      check(r.thumb > 0, `thumbnail of ${r.name} did not load`);
    }
    await page.screenshot({ path: path.join(ART, 'predict-results.png'), fullPage: true });
    await page.goto(projectUrl);
    check((await page.textContent('#predictions')).includes('page'), 'history missing');
  });

  await step('predict page at phone width has no horizontal scroll', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(projectUrl + '/predict');
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(over <= 1, `page is ${over}px wider than the screen`);
    await page.screenshot({ path: path.join(ART, 'predict-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  await step('account: a token is shown once', async () => {
    await page.goto(base + '/account');
    await page.fill('input[name=name]', 'laptop');
    await Promise.all([page.waitForNavigation(), page.click('form.inline-form button')]);
    const tok = await page.textContent('#token-value');
    check(/^ty_[A-Za-z0-9_-]{43}$/.test(tok), tok);
    await page.screenshot({ path: path.join(ART, 'predict-account.png'), fullPage: true });
    await page.goto(base + '/account');
    check(!(await page.content()).includes(tok), 'token shown again');
  });

  await step('account: curl lines with this project, no sideways scroll on a phone', async () => {
    const pid = projectUrl.match(/projects\/(\d+)/)[1];
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(base + '/account');
    const lines = await page.$$eval('pre.curl', (ps) => ps.map((p) => p.textContent));
    check(lines.some((l) => l.includes(`/api/v1/projects/${pid}/predict`)), lines.join('\n'));
    check(await page.$('a[href="/api/v1/openapi.json"]'), 'no link to the OpenAPI description');
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(over <= 1, `account page is ${over}px wider than the screen`);
    await page.screenshot({ path: path.join(ART, 'predict-account-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  await step('no console errors or CSP violations', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
} catch (e) {
  failed++;
  console.log(`FAIL setup\n${e && e.stack || e}`);
} finally {
  if (browser) await browser.close();
  for (const p of procs) p.kill('SIGTERM');
  await new Promise(r => setTimeout(r, 500));
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
