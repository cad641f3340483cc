// Browser test of the live-view cap (issue 13 §3): with one live view per
// user, a second tab on a running run gets 429 for its event stream; the
// page must say so and follow the run by reloading instead. Headless
// Chromium against the real web app; the run is a row that the supervisor
// cannot finish (no workers), so it stays "preprocessing".
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ART, BIN, LOGS, ROOT, check, freePort, harness, sleep, waitHealthy } from './lib.mjs';

const h = harness({ sequence: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ty-browser-fair-'));
const db = path.join(tmp, 'db', 'ty.db');
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const log = fs.openSync(path.join(LOGS, `browser-fair-${port}.log`), 'a');
const web = spawn(path.join(BIN, 'trainyard-web'), [], {
  cwd: ROOT,
  env: { ...process.env, TRAINYARD_PORT: String(port),
         TRAINYARD_PREPROCESS_URL: 'http://127.0.0.1:9', TRAINYARD_TRAIN_URL: 'http://127.0.0.1:9',
         TRAINYARD_INFER_URL: 'http://127.0.0.1:9', TRAINYARD_DATA_DIR: path.join(tmp, 'data'),
         TRAINYARD_MODELS_DIR: path.join(tmp, 'models'), TRAINYARD_DB: db,
         TRAINYARD_SSE_PER_USER: '1', TRAINYARD_RETRY_SECONDS: '600' },
  stdio: ['ignore', log, log],
});

// SQL through Python's sqlite3 (a test dependency already): a dataset and
// an active run in project pid; returns the run id.
function activeRun(pid) {
  return execFileSync('/usr/bin/python3', ['-c', `
import json, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1]); now = int(time.time())
d = c.execute("INSERT INTO datasets (project_id, filename, path, bytes, sha256, status, created_at) "
              "VALUES (?, 'd.zip', 'uploads/x', 1, 'ab', 'ready', ?)", (int(sys.argv[2]), now)).lastrowid
r = c.execute("INSERT INTO runs (project_id, dataset_id, status, params_json, created_at, started_at) "
              "VALUES (?, ?, 'preprocessing', ?, ?, ?)", (int(sys.argv[2]), d, json.dumps({"dataset_id": d}), now, now)).lastrowid
c.commit(); print(r)`, db, String(pid)]).toString().trim();
}

let browser;
try {
  await waitHealthy(base, web, 'trainyard-web');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const first = await ctx.newPage();
  let runUrl;

  await h.step('a user with a running run', async () => {
    await first.goto(base + '/signup');
    await first.fill('input[name=username]', 'fairuser');
    await first.fill('input[name=password]', 'a long enough password');
    await first.click('button[type=submit]');
    await first.waitForURL('**/projects');
    await first.fill('input[name=name]', 'Live');
    await first.click('text=Create project');
    await first.waitForURL(/\/projects\/\d+$/);
    const pid = first.url().match(/projects\/(\d+)/)[1];
    runUrl = `${base}/projects/${pid}/runs/${activeRun(pid)}`;
  });

  await h.step('the first tab gets live updates', async () => {
    const ok = first.waitForResponse(r => r.url().includes('/events') && r.status() === 200);
    await first.goto(runUrl);
    await ok;
    check(await first.isHidden('#run-live'), 'the fallback note shows in the first tab');
  });

  await h.step('a second tab over the cap says so and reloads instead', async () => {
    const second = await ctx.newPage();
    const refused = second.waitForResponse(r => r.url().includes('/events') && r.status() === 429);
    await second.goto(runUrl);
    await refused;
    await second.waitForSelector('#run-live', { state: 'visible', timeout: 10000 });
    const note = await second.textContent('#run-live');
    check(note.includes('Live updates are paused') && note.includes('10 seconds'), note);
    await second.screenshot({ path: path.join(ART, 'fair-live-paused.png'), fullPage: true });
    // the page reloads itself within about 10 s, showing the run again
    const reloaded = second.waitForEvent('load', { timeout: 20000 });
    await reloaded;
    check((await second.textContent('#run-status')).includes('preprocessing'), 'no status after reload');
    const w = await second.evaluate(() => document.documentElement.scrollWidth);
    check(w <= 390, `sideways scroll on a phone: ${w}px`);
  });
} catch (e) {
  h.failed++;
  console.log(`FAIL setup\n${e && e.stack || e}`);
} finally {
  if (browser) await browser.close();
  web.kill('SIGTERM');
  await sleep(300);
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${h.passed} passed, ${h.failed} failed`);
process.exit(h.failed ? 1 : 0);
