#!/usr/bin/python3
"""Copy a zip archive with one text replacement in one record (the fuzz regression inputs
that are derived from a generated .pt2 rather than committed).

Usage: rewrite_zip_record.py IN.zip RECORD_SUFFIX OLD NEW OUT.zip

    RECORD_SUFFIX  the record whose name ends so (e.g. model_weights_config.json)
    OLD, NEW       the first occurrence of OLD in it becomes NEW
"""

import sys
import zipfile


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    source, suffix, old, new, target = argv
    replaced = False
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith(suffix) and not replaced:
                text = data.decode()
                if old not in text:
                    print(f"{source}: {info.filename} has no {old!r}", file=sys.stderr)
                    return 1
                data = text.replace(old, new, 1).encode()
                replaced = True
            zout.writestr(info, data)
    if not replaced:
        print(f"{source}: no record ends with {suffix}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
