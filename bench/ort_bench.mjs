// onnxruntime-node in-process on an exported model: images/s at batch 1
// and batch N, each the best over its settings (intra-op threads 1 and
// THREADS, all graph optimisations), best of 5 runs of SECS/5 seconds.
//   node bench/ort_bench.mjs MODEL.onnx PIXELS.u8 N H W C [THREADS] [SECS]
// Prints one JSON line. onnxruntime-node comes from tests/export's
// node_modules (npm, installed with ONNXRUNTIME_NODE_INSTALL=skip).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'tests', 'export', 'package.json'));
const ort = require('onnxruntime-node');

const [model, pixels, ...rest] = process.argv.slice(2);
const [n, h, w, c] = rest.slice(0, 4).map(Number);
const threads = Number(rest[4] || 2), secs = Number(rest[5] || 3);
const u8 = readFileSync(pixels);
const isz = h * w * c;
const all = Float32Array.from(u8.subarray(0, n * isz));

// images per second of wall time and per CPU-second of this process
async function rate(session, b) {
  const x = new ort.Tensor('float32', all.subarray(0, b * isz), [b, h, w, c]);
  let wall = 0, cpu = 0;
  for (let r = 0; r < 5; r++) {
    let done = 0;
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    let t;
    do {
      await session.run({ image: x });
      done += b;
      t = Number(process.hrtime.bigint() - t0) / 1e9;
    } while (t < secs / 5);
    const cu = process.cpuUsage(c0), cs = (cu.user + cu.system) / 1e6;
    wall = Math.max(wall, done / t);
    if (cs > 0) cpu = Math.max(cpu, done / cs);
  }
  return [wall, cpu];
}

const out = { n, settings: [] };
for (const intra of [...new Set([1, threads])]) {
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: intra, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const [b1, c1] = await rate(s, 1), [bn, cn] = await rate(s, n);
  const r = { intra, batch1: b1, batchN: bn, batch1_cpu: c1, batchN_cpu: cn };
  out.settings.push(r);
  if (!out.first) {
    const p = await s.run({ image: new ort.Tensor('float32', all.subarray(0, isz), [1, h, w, c]) });
    out.first = Array.from(p.probabilities.data);
  }
}
out.batch1 = Math.max(...out.settings.map((r) => r.batch1));
out.batchN = Math.max(...out.settings.map((r) => r.batchN));
out.batch1_cpu = Math.max(...out.settings.map((r) => r.batch1_cpu));
out.batchN_cpu = Math.max(...out.settings.map((r) => r.batchN_cpu));
console.log(JSON.stringify(out));
