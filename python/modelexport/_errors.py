"""Exceptions shared by the front end and the API (standard library only)."""

from __future__ import annotations


class FrontendError(Exception):
    """A failure the front end reports in one line: what went wrong and how to fix it."""


class ExportError(RuntimeError):
    """The modelexport binary (or the export before it) failed.

    message: the one-line error, without the "modelexport: error: " prefix.
    stderr: everything the failing step wrote to stderr.
    """

    def __init__(self, message: str, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.stderr = stderr
        self.returncode = returncode
