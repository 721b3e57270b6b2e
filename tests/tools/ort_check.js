#!/usr/bin/env node
// Run an ONNX model in onnxruntime (CPU) and compare its outputs with expected ones.
//
// Usage: node tests/tools/ort_check.js MODEL.onnx IO_DIR [--tol 1e-4] [--abs] [--verbose]
//        node tests/tools/ort_check.js --server
//
// Server mode (one long-lived process for many checks, as tests/support's ortCheck()
// uses it): reads requests from stdin, one per line, tab-separated:
//   MODEL.onnx<TAB>IO_DIR[<TAB>IO_DIR...]<TAB>TOL[<TAB>abs]
// and answers each, in order, with one line on stdout per IO_DIR, in the request's order:
//   EXIT_STATUS<TAB>the line the CLI mode would print for MODEL.onnx and that IO_DIR
// (the same check, the same line, the same exit status as one CLI run per IO_DIR). All
// IO_DIRs of one request run in one onnxruntime session of the model (loading a large
// model costs more than running it); the session is released after the request.
// onnxruntime is loaded once. A request too short to name a model, an IO_DIR and TOL is
// answered with one line. Ends at end of input.
//
// IO_DIR/io.json:
//   {"inputs":  [{"name": "input_ids", "dtype": "int64", "shape": [1, 128], "file": "input_0.bin"}],
//    "outputs": [{"name": "last_hidden_state", "dtype": "float32", "shape": [1, 128, 128],
//                 "file": "output_0.bin"}]}
// Each file holds raw little-endian, contiguous (C-order) data. dtypes: float32, float64,
// float16, int64, int32, int8, uint8, bool (1 byte per element, 0 or 1).
//
// Inputs are fed by name. Outputs are compared in the order of the model's graph
// outputs: graph output i <-> io.json outputs[i] (names may differ; count, dtype and
// shape must match). Metric: max |a - b| / (1 + |b|) over all elements of all float
// outputs (a = onnxruntime, b = expected; NaN matches NaN only, an infinity matches the
// same infinity only); with --abs, max |a - b| (max_abs_err: within one quantization step
// of a quantized model's output); integer and bool outputs must be exactly equal.
//
// Prints one line on stdout:
//   ort_check: OK max_rel_err=1.2e-07 outputs=2
//   ort_check: FAIL <reason>
// Exit status: 0 OK, 1 outputs differ (or do not match io.json in count, dtype or shape),
// 2 the check could not run: bad arguments or IO_DIR, onnxruntime-node missing, or
// onnxruntime could not load or run the model (its message is printed).
//
// onnxruntime-node comes from tests/package.json: cd tests && npm ci --ignore-scripts

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const DTYPES = {
  // dtype: [typed array constructor, bytes per element, onnxruntime tensor type]
  float32: [Float32Array, 4, 'float32'],
  float64: [Float64Array, 8, 'float64'],
  float16: [Uint16Array, 2, 'float16'],
  int64: [BigInt64Array, 8, 'int64'],
  int32: [Int32Array, 4, 'int32'],
  int8: [Int8Array, 1, 'int8'],
  uint8: [Uint8Array, 1, 'uint8'],
  bool: [Uint8Array, 1, 'bool'],
};
const FLOAT_DTYPES = new Set(['float32', 'float64', 'float16']);

class CheckError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

function fail(message) {
  return new CheckError(message, 1);
}

function unusable(message) {
  return new CheckError(message, 2);
}

function parseArgs(argv) {
  const positional = [];
  let tol = 1e-4;
  let verbose = false;
  let abs = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tol' || a.startsWith('--tol=')) {
      const v = a === '--tol' ? argv[++i] : a.slice('--tol='.length);
      tol = Number(v);
      if (v === undefined || !Number.isFinite(tol) || tol < 0) {
        throw unusable(`--tol needs a non-negative number, got ${v}`);
      }
    } else if (a === '--abs') {
      abs = true;
    } else if (a === '--verbose' || a === '-v') {
      verbose = true;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node ort_check.js MODEL.onnx IO_DIR [--tol 1e-4] [--abs] [--verbose]\n');
      process.exit(0);
    } else if (a.startsWith('--')) {
      throw unusable(`unknown option ${a}`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) {
    throw unusable('usage: node ort_check.js MODEL.onnx IO_DIR [--tol 1e-4] [--abs] [--verbose]');
  }
  return { model: positional[0], ioDir: positional[1], tol, abs, verbose };
}

function elementCount(shape) {
  return shape.reduce((n, d) => n * d, 1);
}

function checkShape(shape, what) {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw unusable(`${what}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

// Read one io.json entry's data file into a typed array of its dtype.
function readData(ioDir, entry, what) {
  if (!DTYPES[entry.dtype]) {
    throw unusable(`${what}: unsupported dtype ${JSON.stringify(entry.dtype)} ` +
                   `(supported: ${Object.keys(DTYPES).join(', ')})`);
  }
  checkShape(entry.shape, what);
  const [Ctor, size] = DTYPES[entry.dtype];
  const file = path.join(ioDir, entry.file || '');
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw unusable(`${what}: cannot read ${file}: ${e.message}`);
  }
  const n = elementCount(entry.shape);
  if (buf.length !== n * size) {
    throw unusable(`${what}: ${file} has ${buf.length} bytes, ${entry.dtype} ` +
                   `${JSON.stringify(entry.shape)} needs ${n * size}`);
  }
  // Copy into a fresh, aligned ArrayBuffer (a Buffer may sit at any offset of a pool).
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return new Ctor(ab);
}

function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// Elements of an output as JS numbers (float dtypes) for comparison.
function floatView(data, dtype) {
  if (dtype !== 'float16') return data;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = halfToFloat(data[i]);
  return out;
}

function fmt(x) {
  return typeof x === 'bigint' ? x.toString() : Number(x).toPrecision(7).replace(/\.?0+(e|$)/, '$1');
}

// Error figures: scientific notation (0.000e+0, 2.204e-6, Infinity).
function fmtErr(x) {
  return Number.isFinite(x) ? x.toExponential(3) : String(x);
}

function unravel(index, shape) {
  const idx = new Array(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] > 0) {
      idx[d] = index % shape[d];
      index = Math.floor(index / shape[d]);
    }
  }
  return idx;
}

// Compare one output; returns {err, worst} for floats or {mismatches, first} for exact types.
function compareOutput(actual, expected, dtype, abs) {
  if (FLOAT_DTYPES.has(dtype)) {
    const a = floatView(actual, dtype);
    const b = floatView(expected, dtype);
    let err = 0;
    let worst = -1;
    for (let i = 0; i < b.length; i++) {
      const x = a[i];
      const y = b[i];
      let e;
      if (x === y) continue; // also equal infinities
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        e = Infinity;
      } else {
        e = abs ? Math.abs(x - y) : Math.abs(x - y) / (1 + Math.abs(y));
      }
      if (e > err || worst < 0) {
        err = e;
        worst = i;
      }
    }
    return { err, worst, a, b };
  }
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < expected.length; i++) {
    // bool outputs come back as 0/1 bytes (or booleans): compare as numbers.
    const x = dtype === 'bool' ? Number(actual[i]) !== 0 : actual[i];
    const y = dtype === 'bool' ? expected[i] !== 0 : expected[i];
    if (x !== y) {
      if (first < 0) first = i;
      mismatches++;
    }
  }
  return { mismatches, first, a: actual, b: expected };
}

// IO_DIR's io.json and data: {feeds, expected}. `ort()` gives onnxruntime, loaded after
// io.json is read (a bad IO_DIR is reported without it).
function readIoDir(ioDir, ort) {
  const ioPath = path.join(ioDir, 'io.json');
  let io;
  try {
    io = JSON.parse(fs.readFileSync(ioPath, 'utf8'));
  } catch (e) {
    throw unusable(`cannot read ${ioPath}: ${e.message}`);
  }
  if (!Array.isArray(io.inputs) || !Array.isArray(io.outputs)) {
    throw unusable(`${ioPath}: needs "inputs" and "outputs" lists`);
  }
  const loadedOrt = ort();
  const feeds = {};
  io.inputs.forEach((entry, i) => {
    const what = `input ${i} (${entry.name})`;
    const data = readData(ioDir, entry, what);
    feeds[entry.name] = new loadedOrt.Tensor(DTYPES[entry.dtype][2], data, entry.shape);
  });
  const expected = io.outputs.map((entry, i) => ({
    entry,
    data: readData(ioDir, entry, `expected output ${i} (${entry.name})`),
  }));
  return { feeds, expected };
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    throw unusable('onnxruntime-node is not installed (cd tests && npm ci --ignore-scripts): ' +
                   e.message.split('\n')[0]);
  }
}

// The model's session, made on first use and shared by the IO dirs of one check; a
// failure to make it is kept and thrown to every IO dir that gets that far, as one
// CLI run per IO dir would report it.
class SharedSession {
  constructor(model, ort) {
    this.model = model;
    this.ort = ort;
    this.session = null;
    this.error = null;
  }

  async get() {
    if (this.error) throw this.error;
    if (!this.session) {
      try {
        this.session = await this.ort().InferenceSession.create(this.model, {
          executionProviders: ['cpu'],
          logSeverityLevel: 3,
          // One thread: the tests run two at a time on two cores, where a second thread
          // per session only adds spin-waiting (Mask R-CNN's four sets: 1.9 -> 1.4 s CPU,
          // the same outputs).
          intraOpNumThreads: 1,
        });
      } catch (e) {
        this.error = unusable(`onnxruntime cannot load ${this.model}: ${String(e.message || e).trim()}`);
        throw this.error;
      }
    }
    return this.session;
  }

  async release() {
    // The server mode checks many models in one process: free each one's session.
    if (this.session && typeof this.session.release === 'function') {
      try {
        await this.session.release();
      } catch (e) {
        // Nothing to report: the checks' answers stand.
      }
    }
    this.session = null;
  }
}

// One IO dir against the shared session: the OK line, or throws a CheckError.
async function checkIoDir(opts, ioDir, shared, ort) {
  if (os.endianness() !== 'LE') {
    throw unusable('this check reads little-endian data and needs a little-endian host');
  }
  const { feeds, expected } = readIoDir(ioDir, ort);
  const session = await shared.get();
  return compareResults(opts, expected, await checkedRun(session, feeds, expected, opts));
}

// Runs the session after checking its inputs and output count; returns [outputNames, results].
async function checkedRun(session, feeds, expected, opts) {
  const missing = session.inputNames.filter((n) => !(n in feeds));
  const extra = Object.keys(feeds).filter((n) => !session.inputNames.includes(n));
  if (missing.length || extra.length) {
    throw unusable(`inputs do not match the model: model wants [${session.inputNames.join(', ')}]` +
                   (missing.length ? `, missing [${missing.join(', ')}]` : '') +
                   (extra.length ? `, io.json also has [${extra.join(', ')}]` : ''));
  }
  const outputNames = session.outputNames;
  if (outputNames.length !== expected.length) {
    throw fail(`model has ${outputNames.length} outputs [${outputNames.join(', ')}], ` +
               `io.json has ${expected.length} [${expected.map((e) => e.entry.name).join(', ')}]`);
  }

  return [outputNames, await runSession(session, feeds, opts)];
}

async function runSession(session, feeds, opts) {
  try {
    return await session.run(feeds);
  } catch (e) {
    throw unusable(`onnxruntime failed to run ${opts.model}: ${String(e.message || e).trim()}`);
  }
}

function compareResults(opts, expected, [outputNames, results]) {
  let maxErr = 0;
  const problems = [];
  outputNames.forEach((name, i) => {
    const { entry, data } = expected[i];
    const label = name === entry.name ? `output ${i} (${name})` : `output ${i} (${name} vs io.json ${entry.name})`;
    const t = results[name];
    if (t.type !== DTYPES[entry.dtype][2]) {
      problems.push(`${label}: dtype ${t.type}, expected ${entry.dtype}`);
      return;
    }
    const dims = Array.from(t.dims, Number);
    if (dims.length !== entry.shape.length || dims.some((d, k) => d !== entry.shape[k])) {
      problems.push(`${label}: shape ${JSON.stringify(dims)}, expected ${JSON.stringify(entry.shape)}`);
      return;
    }
    const c = compareOutput(t.data, data, entry.dtype, opts.abs);
    const metric = opts.abs ? 'max_abs_err' : 'max_rel_err';
    if (FLOAT_DTYPES.has(entry.dtype)) {
      if (opts.verbose) {
        process.stderr.write(`ort_check: ${label} ${entry.dtype}${JSON.stringify(dims)} ${metric}=${fmtErr(c.err)}\n`);
      }
      maxErr = Math.max(maxErr, c.err);
      if (!(c.err <= opts.tol)) {
        problems.push(`${label}: ${metric}=${fmtErr(c.err)} > tol=${fmt(opts.tol)} at ` +
                      `[${unravel(c.worst, dims).join(',')}] got ${fmt(c.a[c.worst])} ` +
                      `expected ${fmt(c.b[c.worst])}`);
      }
    } else {
      if (opts.verbose) {
        process.stderr.write(`ort_check: ${label} ${entry.dtype}${JSON.stringify(dims)} mismatches=${c.mismatches}\n`);
      }
      if (c.mismatches) {
        problems.push(`${label}: ${c.mismatches} of ${data.length} ${entry.dtype} elements differ, ` +
                      `first at [${unravel(c.first, dims).join(',')}] got ${fmt(c.a[c.first])} ` +
                      `expected ${fmt(c.b[c.first])}`);
      }
    }
  });
  if (problems.length) {
    throw fail(problems.join('; '));
  }
  return `ort_check: OK ${opts.abs ? 'max_abs_err' : 'max_rel_err'}=${fmtErr(maxErr)} outputs=${outputNames.length}`;
}

// [exit status, line to print] of a failed check.
function failure(e) {
  const code = e instanceof CheckError ? e.code : 2;
  const msg = String(e && e.message ? e.message : e).replace(/\s*\n\s*/g, ' ');
  return [code, `ort_check: FAIL ${msg}`];
}

// The model on each of opts.ioDirs in one session: [exit status, the line to print] per
// IO dir, each what a check of that IO dir alone gives.
async function checkIoDirs(opts) {
  let ortModule = null;
  const ort = () => ortModule || (ortModule = loadOrt());
  const shared = new SharedSession(opts.model, ort);
  const answers = [];
  try {
    for (const ioDir of opts.ioDirs) {
      try {
        answers.push([0, await checkIoDir(opts, ioDir, shared, ort)]);
      } catch (e) {
        answers.push(failure(e));
      }
    }
  } finally {
    await shared.release();
  }
  return answers;
}

// A server request's fields: {model, ioDirs, tol, abs}, or throws a CheckError.
function parseRequest(fields) {
  const abs = fields.length > 3 && fields[fields.length - 1] === 'abs';
  const rest = abs ? fields.slice(0, -1) : fields;
  if (rest.length < 3) throw unusable(`bad server request ${JSON.stringify(fields.join('\t'))}`);
  const argv = [rest[0], rest[1], '--tol', rest[rest.length - 1]];
  if (abs) argv.push('--abs');
  const opts = parseArgs(argv);
  opts.ioDirs = rest.slice(1, -1);
  return opts;
}

async function serve() {
  const readline = require('readline');
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) {
    if (!line) continue;
    const fields = line.split('\t');
    let answers;
    try {
      answers = await checkIoDirs(parseRequest(fields));
    } catch (e) {
      // A bad request: one answer per IO dir it seems to name, so that the caller, which
      // waits for that many lines, stays in step.
      const named = fields.length - 2 - (fields[fields.length - 1] === 'abs' ? 1 : 0);
      answers = new Array(Math.max(1, named)).fill(failure(e));
    }
    process.stdout.write(answers.map(([code, text]) => `${code}\t${text}\n`).join(''));
  }
}

async function main() {
  if (process.argv[2] === '--server' && process.argv.length === 3) {
    await serve();
    return 0;
  }
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stdout.write(`ort_check: FAIL ${e.message}\n`);
    return e.code || 2;
  }
  opts.ioDirs = [opts.ioDir];
  const [[code, line]] = await checkIoDirs(opts);
  process.stdout.write(`${line}\n`);
  return code;
}

main().then((code) => {
  process.exitCode = code;
});
