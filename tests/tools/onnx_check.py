#!/usr/bin/env python3
"""onnx's full checker on ONNX files, for the C++ tests' pythonOnnxCheck
(tests/support/test_support.cpp).

    onnx_check.py FILE        checks FILE; prints "onnx checker: OK", or fails with onnx's
                              traceback
    onnx_check.py --server    the same check in one long-lived process, so Python and onnx
                              load once per test process, not once per file: one request per
                              input line (a file's path); one answer line each: "0<TAB>onnx
                              checker: OK", or "1<TAB>TYPE: MESSAGE" (first line of the error;
                              the caller runs the one-file form again for the whole output).
                              Ends at the end of its input.

The check is onnx.checker.check_model(onnx.load(FILE), full_check=True). For a file with no
external data it is run as check_model(FILE, full_check=True): given the path, onnx's C++
reads the file itself and runs the same checks and the same strict shape inference, without
Python parsing the model and serializing it again (1.8 -> 1.2 s on Mask R-CNN's 177 MB).
Not for a file with external data: the path form's shape inference cannot read external
tensors' values and fails a valid model whose Reshape takes its shape from one ("Cannot
parse data from external tensors"), where onnx.load has put the values in the model.
"""

import mmap
import os
import sys

# The key "location" of an external tensor's external_data entry (StringStringEntryProto
# field 1, 8 bytes) as protobuf writes it. Every external tensor has it (the checker fails
# one without), so a file without these bytes has no external data.
EXTERNAL_LOCATION_KEY = b"\x0a\x08location"


def refers_to_external_data(path: str) -> bool:
    """True when the file may hold external tensors (a false True only costs time: the
    loaded form is the reference check)."""
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return False
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return data.find(EXTERNAL_LOCATION_KEY) >= 0


def check(path: str) -> None:
    """Raises what onnx's full check finds wrong with the file."""
    import onnx

    if refers_to_external_data(path):
        onnx.checker.check_model(onnx.load(path), full_check=True)
    else:
        onnx.checker.check_model(path, full_check=True)


def answer(path: str) -> tuple[int, str]:
    try:
        check(path)
    except Exception as error:  # ValidationError, InferenceError, OSError, DecodeError, ...
        text = str(error).strip().splitlines()
        return 1, f"{type(error).__name__}: {text[0] if text else ''}"
    return 0, "onnx checker: OK"


def serve() -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = sys.stderr  # whatever a library prints stays out of the answers
    import onnx  # noqa: F401  (loaded once, before the first request)

    for line in sys.stdin:
        path = line.rstrip("\n")
        status, text = answer(path) if path and "\t" not in path else (2, f"bad request {line!r}")
        answers.write(f"{status}\t{text.replace(chr(10), ' ').replace(chr(9), ' ')}\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--server":
        sys.exit(serve())
    check(sys.argv[1])
    print("onnx checker: OK")
