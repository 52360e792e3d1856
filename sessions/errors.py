"""Errors of the sessions package: one base class, subclasses that carry the facts."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CsvFormatError", "SessionError"]


class SessionError(Exception):
    """Base of every error raised by ``sessions``."""


class CsvFormatError(SessionError):
    """A CSV file palpate cannot read; says where and why.

    Parameters
    ----------
    path : Path
        The file.
    line : int or None
        1-based line number of the problem, ``None`` when it concerns the whole file.
    reason : str
        What is wrong and, where possible, what to do about it.
    """

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {reason}")
