"""GUI tests run offscreen with settings in a scratch file (never the person's own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    """QSettings in a scratch ini file."""
    QtCore = pytest.importorskip("PySide6.QtCore")
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


Interrupt = Callable[..., tuple[int, str, str]]


@pytest.fixture
def ctrl_c() -> Interrupt:
    """Run ``palpate ARGS`` (no display) as a person does, press Ctrl-C once it has printed
    ``after`` status lines (or, with ``after=0``, ``wait_s`` seconds after it started: a
    window prints none), and return its exit code, stdout and stderr."""

    def run(
        *args: str, after: int = 2, wait_s: float = 8.0, env: Mapping[str, str] | None = None
    ) -> tuple[int, str, str]:
        full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        full.pop("DISPLAY", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full,
            cwd=ROOT,
        )
        watchdog = threading.Timer(60.0, proc.kill)  # a hung command fails, not the run
        watchdog.start()
        try:
            assert proc.stdout is not None
            seen = []
            if after == 0:
                time.sleep(wait_s)
            for line in proc.stdout if after else ():  # a status line a second, to a pipe
                seen.append(line)
                if sum(x.startswith("t=") for x in seen) >= after:
                    break
            proc.send_signal(signal.SIGINT)
            rest, err = proc.communicate()
        finally:
            watchdog.cancel()
        return proc.returncode, "".join(seen) + rest, err

    return run
