#!/usr/bin/env python3
"""onnx's full checker on ONNX files, for the C++ tests' pythonOnnxCheck
(tests/support/test_support.cpp): the check of

    python -c 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)'

in one long-lived process, so Python and onnx load once per test process, not once per file.

    onnx_check.py --server    one request per input line (a file's path); one answer line
                              each: "0<TAB>onnx checker: OK", or "1<TAB>TYPE: MESSAGE" (first
                              line of the error; the caller runs the one-process form again
                              for the whole output). Ends at the end of its input.
"""

import os
import sys


def check(path: str) -> tuple[int, str]:
    import onnx

    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
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
        status, text = check(path) if path and "\t" not in path else (2, f"bad request {line!r}")
        answers.write(f"{status}\t{text.replace(chr(10), ' ').replace(chr(9), ' ')}\n")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--server"]:
        sys.exit(__doc__)
    sys.exit(serve())
