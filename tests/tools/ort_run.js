#!/usr/bin/env node
// Load an ONNX model in onnxruntime (CPU) and run it once on generated inputs.
//
// Usage: node tests/tools/ort_run.js MODEL.onnx INPUTS.json
// INPUTS.json: [{"name": "x", "dtype": "float32", "shape": [1, 128, 64]}, ...]
// Floats get values in [-1, 1), integers 0, bools false.
// Prints "ort_run: OK outputs=N finite=true|false"; exit 0 when it ran and every float
// output is finite, 1 when an output is not finite, 2 when onnxruntime failed.
'use strict';

const fs = require('fs');
const path = require('path');

async function main() {
  const [modelPath, specPath] = process.argv.slice(2);
  if (!modelPath || !specPath) {
    console.log('ort_run: FAIL usage: ort_run.js MODEL.onnx INPUTS.json');
    return 2;
  }
  const ort = require(path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'));
  const specs = JSON.parse(fs.readFileSync(specPath, 'utf8'));
  const feeds = {};
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 1073741824 - 1;
  };
  for (const s of specs) {
    const count = s.shape.reduce((a, b) => a * b, 1);
    let data;
    if (s.dtype === 'float32') data = Float32Array.from({length: count}, random);
    else if (s.dtype === 'int64') data = new BigInt64Array(count);
    else if (s.dtype === 'int32') data = new Int32Array(count);
    else if (s.dtype === 'bool') data = new Uint8Array(count);
    else throw new Error('unsupported input dtype ' + s.dtype);
    feeds[s.name] = new ort.Tensor(s.dtype, data, s.shape);
  }
  const session = await ort.InferenceSession.create(modelPath);
  const results = await session.run(feeds);
  let finite = true;
  for (const name of session.outputNames) {
    const t = results[name];
    if (t.data instanceof Float32Array || t.data instanceof Float64Array)
      for (const v of t.data) if (!Number.isFinite(v)) finite = false;
  }
  console.log(`ort_run: ${finite ? 'OK' : 'FAIL'} outputs=${session.outputNames.length} finite=${finite}`);
  return finite ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.log('ort_run: FAIL ' + String(e && e.message ? e.message : e).split('\n')[0]);
  process.exit(2);
});
