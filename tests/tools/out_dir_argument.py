"""The command line of the fixture writers in tests/tools: one directory to write to."""
import os
import sys


def out_dir_argument(argv, usage):
    """Returns argv's only item, a directory (made when missing); exits 2 with usage else."""
    if len(argv) != 1:
        print(usage, file=sys.stderr)
        sys.exit(2)
    os.makedirs(argv[0], exist_ok=True)
    return argv[0]
