// Runs an exported ONNX file in onnxruntime-node (the real runtime, from
// npm) on raw pixels and prints what it answers, as JSON:
//   node ort_run.mjs MODEL.onnx PIXELS.u8 N H W C
// PIXELS.u8: N*H*W*C bytes (NHWC), fed as float32 0..255 to "image".
// Prints {"inputs", "outputs", "metadata", "probabilities": [[...]]}.
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [model, pixels, ...dims] = process.argv.slice(2);
const [n, h, w, c] = dims.map(Number);
const u8 = readFileSync(pixels);
if (u8.length !== n * h * w * c) throw new Error(`${pixels}: ${u8.length} bytes, want ${n * h * w * c}`);
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
const x = new ort.Tensor('float32', Float32Array.from(u8), [n, h, w, c]);
const out = await session.run({ image: x });
const p = out.probabilities;
const k = p.dims[1];
const rows = [];
for (let i = 0; i < n; i++) rows.push(Array.from(p.data.slice(i * k, (i + 1) * k)));
console.log(JSON.stringify({
  inputs: session.inputNames, outputs: session.outputNames,
  dims: p.dims, probabilities: rows,
}));
