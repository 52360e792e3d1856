"""kill -9 of a recording process: the file opens and holds every sample up to <= 0.5 s
before the kill (a real subprocess, a real SQLite file, a real SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.devices.simulator import Script, simulate
from sessions.store import SessionFile

ROOT = Path(__file__).resolve().parents[2]
SEED = 21
CHILD = """
import sys, time
from pathlib import Path
from firmware_bridge.devices.simulator import SimulatedPad
from sessions.live import LiveSession

pad = SimulatedPad(seed={seed}, realtime=True, rate_hz=1000.0, channels=4, block_s=0.01)
session = LiveSession(pad, record_to=Path(sys.argv[1]))
session.start()
while True:
    ring = session.raw.get("sim")
    if ring is not None and len(ring):
        print(repr(float(ring.latest(1)[0, 0])), flush=True)
    time.sleep(0.01)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_kill_9_loses_at_most_half_a_second(tmp_path: Path) -> None:
    path = tmp_path / "crash.palpate"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(seed=SEED), str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = None
        while True:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the recorder ended early: {proc.stderr.read()}")
            newest = float(line)
            first = newest if first is None else first
            if newest - first > 2.5:
                os.kill(proc.pid, signal.SIGKILL)  # right after it told us what it holds
                break
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with SessionFile.open(path) as f:
        assert f.interrupted
        (stream,) = f.streams
        frame = f.read()
        assert stream.gaps == 0 and frame.index == 0
        # everything acquired up to half a second before the kill is in the file
        assert frame.t[-1] >= newest - 0.5, (frame.t[-1], newest)
        print(f"lost at most {newest - frame.t[-1]:.3f} s")
        # and it is exactly what the pad sent
        duration = frame.n / 1000.0 + 1.0
        _, truth = simulate(
            Script.demo(SEED, duration), seed=SEED, rate_hz=1000.0, channels=4, duration_s=duration
        )
        np.testing.assert_array_equal(frame.x, truth.x[: frame.n])
        assert np.allclose(np.diff(frame.t), 1e-3)
