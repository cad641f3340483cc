// Shared by the browser tests: PNG and zip writers (no dependencies),
// Fashion-MNIST images from /usr/share/datasets/fashion-mnist, free ports,
// the trainyard services started on them, and the step/check harness that
// ends every suite with "N passed, N failed".
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';

export const ROOT = process.env.ROOT || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const BIN = process.env.BIN || path.join(ROOT, 'bin');
export const LOGS = process.env.TEST_LOGS || path.join(ROOT, 'build', 'test-logs');
export const ART = path.join(ROOT, 'build', 'test-artifacts'); // screenshots
export const FMNIST = '/usr/share/datasets/fashion-mnist';
export const SLOW = process.env.SAN === '1' ? 3 : 1;
export const sleep = ms => new Promise(r => setTimeout(r, ms));
fs.mkdirSync(ART, { recursive: true });
fs.mkdirSync(LOGS, { recursive: true });

export function check(cond, msg) { if (!cond) throw new Error(msg); }

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
// 8-bit gray PNG of w x h pixels px (a Buffer of w*h bytes)
export function png(w, h, px) {
  const raw = Buffer.alloc(h * (w + 1));
  for (let y = 0; y < h; y++) px.copy(raw, y * (w + 1) + 1, y * w, (y + 1) * w);
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 0; // 8-bit gray
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
// [{name, data}] -> a zip (stored entries; PNGs are compressed already)
export function zip(files) {
  const locals = [], centrals = [];
  let off = 0;
  for (const f of files) {
    const name = Buffer.from(f.name), crc = crc32(f.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4);
    lh.writeUInt32LE(crc, 14); lh.writeUInt32LE(f.data.length, 18);
    lh.writeUInt32LE(f.data.length, 22); lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6);
    ch.writeUInt32LE(crc, 16); ch.writeUInt32LE(f.data.length, 20);
    ch.writeUInt32LE(f.data.length, 24); ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(off, 42);
    locals.push(lh, name, f.data);
    centrals.push(ch, name);
    off += 30 + name.length + f.data.length;
  }
  const cd = Buffer.concat(centrals), end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10); end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, end]);
}
export const NAMES = ['T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
  'Shirt', 'Sneaker', 'Bag', 'Ankle_boot'];
// perClass images of each class in `classes` (default all ten): [{cls, i, png, px}]
export function fashion(split, perClass, classes = null) {
  const img = zlib.gunzipSync(fs.readFileSync(`${FMNIST}/${split}-images-idx3-ubyte.gz`));
  const lab = zlib.gunzipSync(fs.readFileSync(`${FMNIST}/${split}-labels-idx1-ubyte.gz`));
  const want = classes || [...NAMES.keys()];
  const n = img.readUInt32BE(4), out = [], count = new Array(10).fill(0);
  for (let i = 0; i < n && out.length < perClass * want.length; i++) {
    const c = lab[8 + i];
    if (!want.includes(c) || count[c]++ >= perClass) continue;
    const px = img.subarray(16 + i * 784, 16 + (i + 1) * 784);
    out.push({ cls: c, i, px, png: png(28, 28, px) });
  }
  return out;
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

// Services sharing the volumes of dir; stop() checks each exits cleanly.
export class Services {
  constructor(dir, tag) {
    this.tag = tag;
    this.procs = [];
    // the service token the four share (docs/jobs.md): workers refuse to run without one
    this.vol = { TRAINYARD_DATA_DIR: path.join(dir, 'data'), TRAINYARD_MODELS_DIR: path.join(dir, 'models'),
      TRAINYARD_SERVICE_TOKEN: process.env.TRAINYARD_SERVICE_TOKEN || crypto.randomBytes(32).toString('hex') };
    for (const d of [this.vol.TRAINYARD_DATA_DIR, this.vol.TRAINYARD_MODELS_DIR]) fs.mkdirSync(d, { recursive: true });
  }
  async start(name, env = {}) {
    const port = await freePort();
    const log = fs.openSync(path.join(LOGS, `${this.tag}-${name}-${port}.log`), 'a');
    const p = spawn(path.join(BIN, name), [], {
      cwd: ROOT, stdio: ['ignore', log, log],
      env: { ...process.env, ...this.vol, TRAINYARD_PORT: String(port), ...env },
    });
    this.procs.push(p);
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, p, name);
    return url;
  }
  // null when all exited 0 within 30 s, else what went wrong
  async stop() {
    const exits = this.procs.map(p => p.exitCode !== null ? Promise.resolve(p.exitCode)
      : new Promise(res => p.on('exit', (code, sig) => res(code === null ? sig : code))));
    for (const p of this.procs) p.kill('SIGTERM');
    const codes = await Promise.race([Promise.all(exits), sleep(30000).then(() => null)]);
    if (!codes) { this.procs.forEach(p => p.kill('SIGKILL')); return 'services did not stop within 30 s'; }
    if (codes.some(c => c !== 0)) return `a service exited with ${codes}`;
    return null;
  }
}

export function launchChromium(chromium) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// step(name, fn): runs fn, counts it; with sequence=true a failure fails
// the steps after it too (each needs the one before).
export function harness({ sequence = false } = {}) {
  const h = { passed: 0, failed: 0, broken: false };
  h.step = async (name, fn) => {
    if (sequence && h.broken) { h.failed++; console.log(`FAIL ${name} (an earlier step failed)`); return; }
    try {
      await fn();
      h.passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      h.failed++;
      h.broken = true;
      console.log(`FAIL ${name}\n${e && e.stack || e}`);
    }
  };
  return h;
}
