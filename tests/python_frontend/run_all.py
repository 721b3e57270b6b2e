#!/usr/bin/env python3
"""Runs every test_*.py of this folder as its own process (each is a script with its own
main), prints their output and a closing line 'N passed, N failed'; exit 1 on a failure."""

from __future__ import annotations

import glob
import os
import subprocess
import sys


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    passed = failed = 0
    for script in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        print(f"==> {os.path.basename(script)}", flush=True)
        status = subprocess.call([sys.executable, script], cwd=here)
        if status == 0:
            passed += 1
        else:
            failed += 1
            print(f"FAILED: {os.path.basename(script)} (exit {status})", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
