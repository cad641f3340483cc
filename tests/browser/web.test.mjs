// Browser test of the web app: Debian's headless Chromium signs up,
// creates a project and uploads a dataset through the real forms, checks
// what a person would see, and saves screenshots to build/test-artifacts/.
// Ends with "N passed, N failed" like every suite.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = process.env.ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const BIN = process.env.BIN || path.join(ROOT, 'bin');
const ART = path.join(ROOT, 'build', 'test-artifacts');
fs.mkdirSync(ART, { recursive: true });

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

async function waitHealthy(url, proc, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`trainyard-web exited ${proc.exitCode}`);
    try { const r = await fetch(url + '/healthz'); if (r.ok) return; } catch { /* not yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error('trainyard-web did not become healthy');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ty-browser-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const log = fs.openSync(path.join(process.env.TEST_LOGS || path.join(ROOT, 'build', 'test-logs'), `browser-web-${port}.log`), 'a');
const web = spawn(path.join(BIN, 'trainyard-web'), [], {
  cwd: ROOT,
  // workers: a port nothing listens on (never someone's service on 8081)
  env: { ...process.env, TRAINYARD_PORT: String(port),
         TRAINYARD_PREPROCESS_URL: 'http://127.0.0.1:9', TRAINYARD_TRAIN_URL: 'http://127.0.0.1:9',
         TRAINYARD_INFER_URL: 'http://127.0.0.1:9', TRAINYARD_DATA_DIR: path.join(tmp, 'data'),
         TRAINYARD_MODELS_DIR: path.join(tmp, 'models'), TRAINYARD_DB: path.join(tmp, 'db', 'ty.db'),
         TRAINYARD_MAX_UPLOAD_MB: '2' },
  stdio: ['ignore', log, log],
});

let browser;
try {
  await waitHealthy(base, web);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = [];
  // The 400 and 413 answers above are meant; anything else (a CSP
  // violation, a script error) is a problem.
  page.on('console', m => {
    if (m.type() === 'error' && !/status of (400|413)/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', e => problems.push(String(e)));

  await step('sign up through the form', async () => {
    await page.goto(base + '/');
    check(page.url().endsWith('/login'), `start page went to ${page.url()}`);
    await page.screenshot({ path: path.join(ART, 'web-login.png') });
    await page.click('text=Create an account');
    await page.fill('input[name=username]', 'grace');
    await page.fill('input[name=password]', 'short');
    // the browser's own minlength check stops this; bypass it to see ours
    await page.$eval('form[action="/signup"]', f => f.noValidate = true);
    await page.click('button[type=submit]');
    check((await page.textContent('.alert.error')).includes('at least 8'), 'no password rule shown');
    await page.fill('input[name=password]', 'a long enough password');
    await page.click('button[type=submit]');
    await page.waitForURL('**/projects');
    check((await page.textContent('.topbar .user')).trim() === 'grace', 'user not in the header');
    await page.screenshot({ path: path.join(ART, 'web-projects-empty.png'), fullPage: true });
  });

  await step('create a project', async () => {
    await page.fill('input[name=name]', 'Fashion <items>');
    await page.fill('textarea[name=description]', 'Shirts, shoes & bags — which is which?');
    await page.click('text=Create project');
    await page.waitForURL(/\/projects\/\d+$/);
    check((await page.textContent('h1')) === 'Fashion <items>', 'project name not shown as text');
    check(await page.isVisible('#runs') && await page.isVisible('#models'), 'placeholders missing');
  });

  await step('upload a dataset through the form', async () => {
    const f = path.join(tmp, 'fashion sample.tar.gz');
    fs.writeFileSync(f, Buffer.alloc(150000, 7));
    await page.setInputFiles('input[type=file][name=file]', f);
    await page.click('text=Upload dataset');
    await page.waitForURL(/uploaded=\d+/);
    check((await page.textContent('.alert.ok')).includes('fashion_sample.tar.gz'), 'no upload notice');
    const row = await page.textContent('#datasets tbody tr');
    check(row.includes('fashion_sample.tar.gz') && row.includes('146.5 KB') &&
          /uploaded|inspecting|ready|unusable/.test(row),
          `dataset row: ${row}`);
    await page.screenshot({ path: path.join(ART, 'web-project.png'), fullPage: true });
  });

  await step('an upload over the limit shows a clear error page', async () => {
    const f = path.join(tmp, 'big.zip');
    fs.writeFileSync(f, Buffer.alloc(3 * 1024 * 1024, 1));
    await page.goBack();
    await page.setInputFiles('input[type=file][name=file]', f);
    await page.click('text=Upload dataset');
    await page.waitForSelector('.error-page');
    check((await page.textContent('.error-page')).includes('upload limit of 2 MB'), 'no limit message');
    await page.screenshot({ path: path.join(ART, 'web-error.png') });
    await page.click('text=Back to the project');
    check((await page.$$('#datasets tbody tr')).length === 1, 'a second dataset appeared');
  });

  await step('the project list and a phone-sized page', async () => {
    await page.goto(base + '/projects');
    check((await page.textContent('.project-card')).includes('1 dataset'), 'list lacks the count');
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    await phone.context().addCookies(await page.context().cookies());
    await phone.goto(page.url());
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `page scrolls sideways on a phone (${width}px)`);
    await phone.screenshot({ path: path.join(ART, 'web-phone.png'), fullPage: true });
    await phone.close();
  });

  await step('sign out', async () => {
    await page.click('text=Sign out');
    await page.waitForURL('**/login');
    await page.goto(base + '/projects');
    check(page.url().includes('/login?next='), `still signed in (${page.url()})`);
    // signing in again comes back to the page that was asked for
    await page.fill('input[name=username]', 'grace');
    await page.fill('input[name=password]', 'a long enough password');
    await page.click('button[type=submit]');
    await page.waitForURL('**/projects');
  });

  await step('no console errors or CSP violations', async () => {
    check(problems.length === 0, problems.join('\n'));
  });
} catch (e) {
  failed++;
  console.log(`FAIL setup\n${e && e.stack || e}`);
} finally {
  if (browser) await browser.close();
  web.kill('SIGTERM');
  await new Promise(r => web.exitCode !== null ? r() : web.on('exit', r));
  if (web.exitCode !== 0 && web.signalCode === null) { failed++; console.log(`FAIL exit code ${web.exitCode}`); }
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
