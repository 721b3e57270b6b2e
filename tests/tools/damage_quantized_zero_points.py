#!/usr/bin/python3
"""Copy a TorchScript file of a quantized model with the zero points of its first
per-channel quantized tensor (a conv's weight) set to 2**40, which no int32 holds.
Restoring that conv's packed weights (quantized::conv2d_prepack in its __setstate__)
then fails in LibTorch, in Python's torch.jit.load as in the binary: the file that still
cannot load, for the one-line error of tests/e2e/quantized_models_test.cpp. (Issue 23
item 7: such zero points were what a torch 1.13 file's load in the binary read when its
lent bytes had been overwritten.)

Usage: damage_quantized_zero_points.py IN.pt OUT.pt
"""

import pickletools
import struct
import sys
import zipfile


def zero_point_record(archive):
    """The record holding the zero points of the first per-channel quantized tensor in
    data.pkl: the LongStorage after the first per_channel_affine."""
    data_pkl = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
    prefix = data_pkl[: -len("data.pkl")]
    per_channel = long_storage = False
    for op, arg, _ in pickletools.genops(archive.read(data_pkl)):
        if op.name in ("GLOBAL", "STACK_GLOBAL") and arg == "torch per_channel_affine":
            per_channel = True
        elif per_channel and op.name == "GLOBAL" and arg == "torch LongStorage":
            long_storage = True
        elif long_storage and op.name in ("BINUNICODE", "SHORT_BINUNICODE", "UNICODE"):
            return prefix + "data/" + arg
    raise SystemExit("no per-channel quantized tensor in %s" % data_pkl)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = argv
    with zipfile.ZipFile(source) as zin:
        record = zero_point_record(zin)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename == record:
                    data = struct.pack("<%dq" % (len(data) // 8), *([2 ** 40] * (len(data) // 8)))
                zout.writestr(info, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
