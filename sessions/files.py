"""Writing the person's files so that a crash or a full disk never leaves half of one."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, chunks: Iterable[str]) -> None:
    """Write text to a temporary file next to ``path``, then move it over ``path``.

    A reader sees the old file or the whole new one, never a part; the temporary file
    is flushed to disk before the move, and removed if anything fails.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            for text in chunks:
                f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
