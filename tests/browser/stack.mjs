// The shared set-up of browser suites: steps that count "N passed, N
// failed", the four services on free ports with their own volumes and
// service token, Debian's Chromium, and a clean stop (a service that does
// not exit 0 — a sanitizer report — counts as a failure).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

export const ROOT = process.env.ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const BIN = process.env.BIN || path.join(ROOT, 'bin');
export const ART = path.join(ROOT, 'build', 'test-artifacts');
export const LOGS = process.env.TEST_LOGS || path.join(ROOT, 'build', 'test-logs');
export const SLOW = process.env.SAN === '1' ? 3 : 1;
fs.mkdirSync(ART, { recursive: true });
fs.mkdirSync(LOGS, { recursive: true });

export const sleep = ms => new Promise(r => setTimeout(r, ms));
export function check(cond, msg) { if (!cond) throw new Error(msg); }

// Steps of a sequence: after a failure the rest count as failed
// (sequence=false: steps that do not need each other all run).
export function steps({ sequence = true } = {}) {
  const t = { passed: 0, failed: 0, skipped: false };
  t.step = async (name, fn) => {
    if (t.skipped) { t.failed++; console.log(`FAIL ${name} (an earlier step failed)`); return; }
    try {
      await fn();
      t.passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      t.failed++;
      t.skipped = sequence;
      console.log(`FAIL ${name}\n${e && e.stack || e}`);
    }
  };
  return t;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

export async function waitHealthy(url, proc, name, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`${name} exited ${proc.exitCode}`);
    try { const r = await fetch(url + '/healthz'); if (r.ok) return; } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`${name} did not become healthy`);
}

// The workers and the web app on a temporary directory; tag names logs.
export async function startStack(tag) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ty-${tag}-`));
  const vol = { TRAINYARD_DATA_DIR: path.join(tmp, 'data'), TRAINYARD_MODELS_DIR: path.join(tmp, 'models'),
    TRAINYARD_SERVICE_TOKEN: process.env.TRAINYARD_SERVICE_TOKEN || crypto.randomBytes(32).toString('hex') };
  fs.mkdirSync(vol.TRAINYARD_DATA_DIR, { recursive: true });
  fs.mkdirSync(vol.TRAINYARD_MODELS_DIR, { recursive: true });
  const procs = [];
  async function service(name, env = {}) {
    const port = await freePort();
    const log = fs.openSync(path.join(LOGS, `${tag}-${name}-${port}.log`), 'a');
    const p = spawn(path.join(BIN, name), [], {
      cwd: ROOT, stdio: ['ignore', log, log],
      env: { ...process.env, ...vol, TRAINYARD_PORT: String(port), ...env },
    });
    procs.push(p);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, p, name);
    return url;
  }
  const s = { tmp, procs };
  const pre = await service('trainyard-preprocess');
  const train = await service('trainyard-train');
  const infer = await service('trainyard-infer');
  s.base = await service('trainyard-web', {
    TRAINYARD_DB: path.join(tmp, 'db', 'ty.db'), TRAINYARD_PREPROCESS_URL: pre,
    TRAINYARD_TRAIN_URL: train, TRAINYARD_INFER_URL: infer, TRAINYARD_POLL_MS: '150',
  });
  s.browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return s;
}

// Stops everything; returns the failures it saw (0 or 1).
export async function stopStack(s) {
  let failed = 0;
  if (s && s.browser) await s.browser.close();
  const procs = s ? s.procs : [];
  const exits = procs.map(p => p.exitCode !== null ? Promise.resolve(p.exitCode)
    : new Promise(res => p.on('exit', (code, sig) => res(code === null ? sig : code))));
  for (const p of procs) p.kill('SIGTERM');
  const codes = await Promise.race([Promise.all(exits), sleep(30000).then(() => null)]);
  if (!codes) { failed++; console.log('FAIL services did not stop within 30 s'); procs.forEach(p => p.kill('SIGKILL')); }
  else if (codes.some(c => c !== 0)) { failed++; console.log(`FAIL a service exited with ${codes}`); }
  if (s) fs.rmSync(s.tmp, { recursive: true, force: true });
  return failed;
}
