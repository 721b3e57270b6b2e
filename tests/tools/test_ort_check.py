#!/usr/bin/python3
"""End-to-end tests of tests/tools/ort_check.js on small hand-made ONNX models.

Usage: /usr/bin/python3 tests/tools/test_ort_check.py [-v]

Builds models with onnx.helper and IO directories with numpy (no torch needed), runs
`node ort_check.js` on them and checks its verdict and exit status, and the same through
`ort_check.js --server` (as tests/support's ortCheck uses it), also with several IO
directories in one request (one answer line each, the same as its own run). Needs
onnxruntime-node in tests/node_modules (cd tests && npm ci --ignore-scripts).
Last line: "ort_check: N passed, M failed"; exit status 1 if any failed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_CHECK = os.path.join(HERE, "ort_check.js")
VERBOSE = "-v" in sys.argv

NP = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "int64": np.int64,
      "int32": np.int32, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}
ONNX_TYPES = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE,
              "float16": TensorProto.FLOAT16, "int64": TensorProto.INT64,
              "int32": TensorProto.INT32, "int8": TensorProto.INT8,
              "uint8": TensorProto.UINT8, "bool": TensorProto.BOOL}


def save_model(path, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, ONNX_TYPES[d], s) for n, d, s in inputs],
        [helper.make_tensor_value_info(n, ONNX_TYPES[d], s) for n, d, s in outputs],
        list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_io(io_dir, inputs, outputs):
    """inputs/outputs: lists of (name, numpy array)."""
    os.makedirs(io_dir, exist_ok=True)
    doc = {"inputs": [], "outputs": []}
    for key, prefix, items in (("inputs", "input", inputs), ("outputs", "output", outputs)):
        for i, (name, arr) in enumerate(items):
            dtype = [k for k, v in NP.items() if arr.dtype == v][0]
            fname = "%s_%d.bin" % (prefix, i)
            data = arr.astype(arr.dtype.newbyteorder("<")) if arr.dtype.itemsize > 1 else arr
            with open(os.path.join(io_dir, fname), "wb") as f:
                f.write(np.ascontiguousarray(data).tobytes())
            doc[key].append({"name": name, "dtype": dtype, "shape": list(arr.shape), "file": fname})
    with open(os.path.join(io_dir, "io.json"), "w") as f:
        json.dump(doc, f)


def ort_check(model, io_dir, *extra):
    p = subprocess.run(["node", ORT_CHECK, model, io_dir] + list(extra),
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def ort_server(requests):
    """Answer lines of one `ort_check.js --server` to the requests (lists of fields)."""
    text = "".join("\t".join(fields) + "\n" for fields in requests)
    p = subprocess.run(["node", ORT_CHECK, "--server"], input=text, capture_output=True, text=True,
                       timeout=120)
    return p.stdout.splitlines()


class Tests:
    def __init__(self, tmp):
        self.tmp = tmp
        self.passed = 0
        self.failed = 0

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def expect(self, label, model, io_dir, code, prefix, *extra, contains=None):
        rc, out, err = ort_check(model, io_dir, *extra)
        ok = rc == code and out.startswith(prefix) and len(out.splitlines()) == 1 and \
            (contains is None or contains in out)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        if VERBOSE or not ok:
            print("%s %s: rc=%d (want %d) %s%s" % ("ok  " if ok else "FAIL", label, rc, code, out,
                                                   ("\n   stderr: " + err) if err and not ok else ""))

    def expect_answers(self, label, answers, wanted):
        """wanted: (status, prefix, contained text or None) per answer line, in order."""
        ok = len(answers) == len(wanted)
        for line, (code, prefix, contains) in zip(answers, wanted):
            status, _, text = line.partition("\t")
            ok = ok and status == str(code) and text.startswith(prefix) and (contains is None or contains in text)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        if VERBOSE or not ok:
            print("%s %s:\n   %s" % ("ok  " if ok else "FAIL", label, "\n   ".join(answers) or "(no answer)"))

    # -- models ---------------------------------------------------------------

    def matmul_add(self):
        """y = x @ W + b, x float32 [2, 3]."""
        rng = np.random.default_rng(0)
        W = rng.standard_normal((3, 4)).astype(np.float32)
        b = rng.standard_normal((4,)).astype(np.float32)
        model = self.path("matmul_add.onnx")
        save_model(model,
                   [helper.make_node("MatMul", ["x", "W"], ["xw"]),
                    helper.make_node("Add", ["xw", "b"], ["y"])],
                   [("x", "float32", [2, 3])], [("y", "float32", [2, 4])],
                   [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")])
        x = rng.standard_normal((2, 3)).astype(np.float32)
        y = (x.astype(np.float64) @ W + b).astype(np.float32)
        return model, x, y

    def test_matmul_add(self):
        model, x, y = self.matmul_add()
        io = self.path("io_ok")
        write_io(io, [("x", x)], [("y", y)])
        self.expect("matmul+add OK", model, io, 0, "ort_check: OK", contains="outputs=1")

        y_bad = y.copy()
        y_bad[1, 2] += 0.5
        io_bad = self.path("io_corrupt")
        write_io(io_bad, [("x", x)], [("y", y_bad)])
        self.expect("corrupted value FAIL", model, io_bad, 1, "ort_check: FAIL", contains="[1,2]")

        y_near = y * (1 + 1e-6)
        io_near = self.path("io_near")
        write_io(io_near, [("x", x)], [("y", y_near.astype(np.float32))])
        self.expect("within tol OK", model, io_near, 0, "ort_check: OK")
        self.expect("--tol 0 FAIL", model, io_near, 1, "ort_check: FAIL", "--tol", "0")
        self.expect("--tol=1 OK", model, io_bad, 0, "ort_check: OK", "--tol=1")
        # --abs: max |a - b| (the 0.5 off at [1, 2]), as quantized models are checked.
        self.expect("--abs --tol 0.45 FAIL", model, io_bad, 1, "ort_check: FAIL", "--abs", "--tol", "0.45",
                    contains="max_abs_err=")
        self.expect("--abs --tol 0.51 OK", model, io_bad, 0, "ort_check: OK max_abs_err=5.", "--abs", "--tol", "0.51")

        io_wrong_name = self.path("io_wrong_input")
        write_io(io_wrong_name, [("z", x)], [("y", y)])
        self.expect("unknown input name -> 2", model, io_wrong_name, 2, "ort_check: FAIL",
                    contains="missing [x]")

        io_two = self.path("io_two_outputs")
        write_io(io_two, [("x", x)], [("y", y), ("y2", y)])
        self.expect("output count mismatch -> 1", model, io_two, 1, "ort_check: FAIL",
                    contains="1 outputs")

        io_shape = self.path("io_shape")
        write_io(io_shape, [("x", x)], [("y", y.reshape(4, 2))])
        self.expect("output shape mismatch -> 1", model, io_shape, 1, "ort_check: FAIL",
                    contains="shape [2,4]")

        io_dtype = self.path("io_dtype")
        write_io(io_dtype, [("x", x)], [("y", y.astype(np.float64))])
        self.expect("output dtype mismatch -> 1", model, io_dtype, 1, "ort_check: FAIL",
                    contains="dtype float32")

        io_short = self.path("io_short")
        write_io(io_short, [("x", x)], [("y", y)])
        with open(os.path.join(io_short, "input_0.bin"), "ab") as f:
            f.write(b"\0")
        self.expect("data file size -> 2", model, io_short, 2, "ort_check: FAIL", contains="bytes")

        self.expect("no io.json -> 2", model, self.path("nowhere"), 2, "ort_check: FAIL")

        junk = self.path("junk.onnx")
        with open(junk, "wb") as f:
            f.write(b"this is not an onnx model\n" * 10)
        self.expect("unloadable model -> 2", junk, io, 2, "ort_check: FAIL",
                    contains="cannot load")

        self.expect("bad --tol -> 2", model, io, 2, "ort_check: FAIL", "--tol", "abc")

    def test_server(self):
        """The server's answers, one per IO dir of a request, are the CLI's for that dir."""
        model, x, y = self.matmul_add()
        ok, bad, near = self.path("srv_ok"), self.path("srv_corrupt"), self.path("srv_near")
        write_io(ok, [("x", x)], [("y", y)])
        y_bad = y.copy()
        y_bad[1, 2] += 0.5
        write_io(bad, [("x", x)], [("y", y_bad)])
        write_io(near, [("x", x)], [("y", (y * (1 + 1e-6)).astype(np.float32))])
        nowhere = self.path("srv_nowhere")
        junk = self.path("srv_junk.onnx")
        with open(junk, "wb") as f:
            f.write(b"this is not an onnx model\n" * 10)

        requests = [
            [model, ok, "0.0001"],
            [model, ok, bad, near, nowhere, "0.0001"],
            [model, bad, ok, "0.45", "abs"],
            [model, bad, ok, "0.51", "abs"],
            [junk, ok, bad, "0.0001"],
            [model, bad, ok, "0.0001"],
            [model],
            [model, ok, bad, "abc"],
            [model, near, "0.0001"],
        ]
        answers = ort_server(requests)
        self.expect_answers("server: single dir", answers[0:1], [(0, "ort_check: OK", "outputs=1")])
        self.expect_answers("server: four dirs, one session", answers[1:5],
                            [(0, "ort_check: OK", None), (1, "ort_check: FAIL", "[1,2]"),
                             (0, "ort_check: OK", None), (2, "ort_check: FAIL", "srv_nowhere")])
        self.expect_answers("server: --abs on two dirs", answers[5:7],
                            [(1, "ort_check: FAIL", "max_abs_err="), (0, "ort_check: OK max_abs_err=", None)])
        self.expect_answers("server: --abs 0.51 on two dirs", answers[7:9],
                            [(0, "ort_check: OK max_abs_err=5.", None), (0, "ort_check: OK max_abs_err=", None)])
        self.expect_answers("server: unloadable model, every dir says so", answers[9:11],
                            [(2, "ort_check: FAIL", "cannot load"), (2, "ort_check: FAIL", "cannot load")])
        self.expect_answers("server: a failed dir leaves the session usable", answers[11:13],
                            [(1, "ort_check: FAIL", "[1,2]"), (0, "ort_check: OK", None)])
        self.expect_answers("server: no io dir -> one answer", answers[13:14],
                            [(2, "ort_check: FAIL", "bad server request")])
        self.expect_answers("server: bad tol -> one answer per dir", answers[14:16],
                            [(2, "ort_check: FAIL", "--tol"), (2, "ort_check: FAIL", "--tol")])
        self.expect_answers("server: still answering", answers[16:], [(0, "ort_check: OK", None)])

        # Each answer line is the CLI's line and status for that IO dir alone.
        same = True
        for io_dir, line in zip([ok, bad, near, nowhere], answers[1:5]):
            rc, out, _ = ort_check(model, io_dir, "--tol", "0.0001")
            same = same and line == "%d\t%s" % (rc, out)
            if VERBOSE or line != "%d\t%s" % (rc, out):
                print("   cli: %d\t%s\n   srv: %s" % (rc, out, line))
        self.expect_answers("server lines are the CLI's", ["0\tok" if same else "1\tdiffer"], [(0, "ok", None)])

    def test_dtypes_and_order(self):
        """Several outputs of every dtype; inputs given in another order than the model's."""
        dtypes = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"]
        nodes = [helper.make_node("Cast", ["n"], ["bf"], to=TensorProto.FLOAT),
                 helper.make_node("Add", ["a", "bf"], ["s"])]
        outputs = []
        for d in dtypes:
            nodes.append(helper.make_node("Cast", ["s"], ["out_" + d], to=ONNX_TYPES[d]))
            outputs.append(("out_" + d, d, [2, 3]))
        nodes.append(helper.make_node("Sqrt", ["a"], ["sqrt"]))  # NaN for negative a
        outputs.append(("sqrt", "float32", [2, 3]))
        model = self.path("dtypes.onnx")
        save_model(model, nodes, [("a", "float32", [2, 3]), ("n", "int64", [2, 3])], outputs)

        a = np.array([[-1.0, 0.0, 2.25], [3.0, -0.5, 100.0]], dtype=np.float32)
        n = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)  # a + n >= 0: safe to cast
        s = a + n.astype(np.float32)
        expected = []
        for d in dtypes:
            if d == "bool":
                expected.append(("out_bool", s != 0))
            else:
                expected.append(("out_" + d, s.astype(NP[d])))
        with np.errstate(invalid="ignore"):
            expected.append(("sqrt", np.sqrt(a)))
        io = self.path("io_dtypes")
        write_io(io, [("n", n), ("a", a)], expected)
        self.expect("all dtypes + NaN OK", model, io, 0, "ort_check: OK", contains="outputs=9")

        for idx, label in ((3, "int64"), (7, "bool"), (2, "float16")):
            bad = list(expected)
            name, arr = bad[idx]
            arr = arr.copy()
            if arr.dtype == np.bool_:
                arr[0, 0] = not arr[0, 0]
            else:
                arr[0, 0] = arr[0, 0] + 7
            bad[idx] = (name, arr)
            io_bad = self.path("io_dtypes_bad_" + label)
            write_io(io_bad, [("n", n), ("a", a)], bad)
            self.expect("corrupted %s FAIL" % label, model, io_bad, 1, "ort_check: FAIL",
                        contains=name)

        bad = list(expected)
        bad[-1] = ("sqrt", np.where(np.isnan(expected[-1][1]), 0.0, expected[-1][1]).astype(np.float32))
        io_nan = self.path("io_dtypes_nan")
        write_io(io_nan, [("n", n), ("a", a)], bad)
        self.expect("NaN vs number FAIL", model, io_nan, 1, "ort_check: FAIL", contains="sqrt")

        swapped = list(expected)
        swapped[0], swapped[1] = swapped[1], swapped[0]
        io_swapped = self.path("io_dtypes_swapped")
        write_io(io_swapped, [("n", n), ("a", a)], swapped)
        self.expect("outputs compared in graph order", model, io_swapped, 1, "ort_check: FAIL",
                    contains="output 0 (out_float32 vs io.json out_float64)")


def main():
    if shutil.which("node") is None:
        print("test_ort_check: node is not installed")
        return 1
    tmp = tempfile.mkdtemp(prefix="ort_check_test_")
    try:
        t = Tests(tmp)
        t.test_matmul_add()
        t.test_dtypes_and_order()
        t.test_server()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ort_check: %d passed, %d failed" % (t.passed, t.failed))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
