"""Where the modelexport binary looks for the program of a model the Python front end
would make: CACHE/programs/<key>.pt2, the key being src/inputs/python_front_end.cpp's
cacheKey, computed the same way here so that a test can put a program made in one
process (tests/tools/make_hf_programs.py) where the binary finds it.

A test that relies on this checks the binary's `-v` line `front end: reusing <path>`: if
this file and cacheKey ever differ, the binary misses and that test fails, saying so.

What the key covers, in cacheKey's order (each field ends with a 0xff byte, FNV-1a 64):
the protocol string, the binary's version, the model directory made canonical, each file
under it (path, size, modification time; symlinks followed; sorted as std::filesystem
paths sort), the options (task, input text, input shape), the interpreter's path as given,
each PREFIX/lib/python*/site-packages (path, size, time) and each entry of the front
end's package directory (path, size, time)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

# src/inputs/python_front_end.cpp kFrontEndProtocol.
FRONT_END_PROTOCOL = "modelexport-frontend-1"

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1


class KeyHash:
    """64-bit FNV-1a over fields, each closed by a 0xff byte (cacheKey's KeyHash)."""

    def __init__(self) -> None:
        self._hash = _FNV_OFFSET

    def add(self, text: str) -> None:
        h = self._hash
        for byte in os.fsencode(text) + b"\xff":
            h = ((h ^ byte) * _FNV_PRIME) & _MASK
        self._hash = h

    def add_file(self, path: str) -> None:
        """The path, then size:seconds.nanoseconds of what it names (symlinks followed),
        when it exists."""
        self.add(path)
        try:
            st = os.stat(path)
        except OSError:
            return
        self.add(f"{st.st_size}:{st.st_mtime_ns // 10**9}.{st.st_mtime_ns % 10**9}")

    def hex(self) -> str:
        return f"{self._hash:016x}"


def _regular_files_under(directory: str) -> list[str]:
    """std::filesystem::recursive_directory_iterator's regular files (symlinks to files
    followed, symlinked directories not entered), sorted as std::filesystem::path sorts:
    element by element."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        found += [os.path.join(root, f) for f in files if os.path.isfile(os.path.join(root, f))]
    return sorted(found, key=lambda p: [os.fsencode(part) for part in Path(os.path.relpath(p, directory)).parts])


def snapshot_directory(hub_cache: str, repo: str) -> str:
    """The snapshot directory src/inputs/model_locator.cpp finds for a repo id in the hub
    cache (the refs/main commit's), as the path it builds from HF_HUB_CACHE."""
    repo_dir = os.path.join(hub_cache, "models--" + repo.replace("/", "--"))
    with open(os.path.join(repo_dir, "refs", "main")) as ref:
        commit = ref.readline().rstrip("\n")
    return os.path.join(repo_dir, "snapshots", commit)


def program_key(
    version: str,
    model_dir: str,
    python: str,
    package_root: str,
    task: Optional[str] = None,
    text: Optional[str] = None,
    shape: Optional[Sequence[int]] = None,
) -> str:
    """cacheKey(request, modelDir, python) of a binary of `version` whose front end package
    is package_root/modelexport (the source tree's python/ for a binary in the build tree)."""
    key = KeyHash()
    key.add(FRONT_END_PROTOCOL)
    key.add(version)
    key.add(os.path.realpath(model_dir))
    for path in _regular_files_under(model_dir):
        key.add_file(path)
    key.add(f"task={task}" if task is not None else "task-")
    key.add(f"text={text}" if text is not None else "text-")
    key.add("shape=" + "".join(f"{d}," for d in shape) if shape is not None else "shape-")
    key.add(python)
    prefix = os.path.dirname(os.path.dirname(python))
    lib = os.path.join(prefix, "lib")
    if os.path.isdir(lib):
        for entry in os.scandir(lib):  # directory order, as std::filesystem::directory_iterator
            if entry.name.startswith("python"):
                key.add_file(os.path.join(entry.path, "site-packages"))
    for entry in os.scandir(os.path.join(package_root, "modelexport")):
        key.add_file(entry.path)
    return key.hex()
