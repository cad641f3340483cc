// Shared by the browser tests: PNG and zip writers (no dependencies),
// Fashion-MNIST images from /usr/share/datasets/fashion-mnist; the steps,
// services and browser are stack.mjs's (re-exported for the suites that
// start their own).
import fs from 'node:fs';
import zlib from 'node:zlib';
import { ART, BIN, LOGS, ROOT, SLOW, check, freePort, sleep, steps, waitHealthy } from './stack.mjs';

export { ART, BIN, LOGS, ROOT, SLOW, check, freePort, sleep, waitHealthy };
// steps that do not need each other: every one runs
export const harness = () => steps({ sequence: false });
export const FMNIST = '/usr/share/datasets/fashion-mnist';

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
