// ONNX Runtime's inference time on the models tests/onnx_models/export_models.py exports,
// timed like bench/onnx_models.cpp times Sluice: the median wall time of `runs` calls of
// session.run after two warm-up calls, per batch size, with `threads` intra-op threads (one
// inter-op thread, sequential execution, all graph optimizations). Inputs are normal values
// of the exported input's shape (read from <model>.input.npy) with the batch replaced.
// Prints "ort <model> batch <b> threads <t> median_ms <m>" per row.
//
// usage: node bench/onnx_ort.js <models dir> <model> <threads> <runs> <batch>...
// onnxruntime-node is found through NODE_PATH (bench/onnx_compare.sh sets it); it is never
// part of this repository.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function npyShape(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!m) throw new Error(file + ': no shape in the .npy header');
  return m[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
}

// Box-Muller normals from a fixed-seed linear congruential generator.
function normals(n, seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next())), t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

async function main() {
  const [dir, model, threadsArg, runsArg, ...batchArgs] = process.argv.slice(2);
  const threads = Number(threadsArg), runs = Number(runsArg);
  const shape = npyShape(path.join(dir, model + '.input.npy'));
  const session = await ort.InferenceSession.create(path.join(dir, model + '.onnx'), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  for (const b of batchArgs.map(Number)) {
    const dims = [b, ...shape.slice(1)];
    const x = new ort.Tensor('float32', normals(dims.reduce((a, d) => a * d, 1), 7), dims);
    for (let i = 0; i < 2; ++i) await session.run({ input: x });
    const ms = [];
    for (let i = 0; i < runs; ++i) {
      const t0 = process.hrtime.bigint();
      await session.run({ input: x });
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    console.log(`ort ${model} batch ${b} threads ${threads} median_ms ${ms[Math.floor(ms.length / 2)].toFixed(3)}`);
  }
}

main().catch((e) => {
  console.error('error: ' + e.message);
  process.exit(1);
});
