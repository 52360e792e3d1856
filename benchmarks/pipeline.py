"""Speed of the analysis pipeline, live (small chunks) and offline (large chunks).

A simulated session (default 1 hour, 1 kHz, 4 force channels) runs through a fresh
:class:`analysis.pipeline.Pipeline` twice:

* live: 10 ms chunks (one BLE notification's worth), each timed; the mean is also
  divided by the cost of one ``scipy.signal.sosfilt`` call (order-2 sections, one
  channel, same chunk length) measured in the same run, the issue's baseline;
* offline: 1 s chunks, reported as rows per second;
* ``analyze_rows_per_s``: the whole session through :func:`analysis.pipeline.analyze`,
  what ``palpate analyze`` runs (the same pipeline in 10 s chunks).

Targets (analysis issue): mean live chunk <= 2x one sosfilt call, p99 <= 2 ms,
offline >= 2 million rows/s.

Run: ``python benchmarks/pipeline.py [--minutes M]``. The last line is one JSON object:
``live_chunk_mean_ms``, ``live_chunk_p99_ms``, ``live_vs_one_sosfilt``,
``offline_rows_per_s`` (plus the baseline and the session size).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.pipeline import Pipeline, analyze
from analysis.stream import Frame, StreamInfo
from firmware_bridge.devices.simulator import Script, simulate

RATE_HZ = 1000.0


def sosfilt_call_ms(chunk: int, repeats: int = 20000) -> float:
    """Median cost of one sosfilt call with carried state on a chunk, ms."""
    sos = butter(2, 5.0 / (RATE_HZ / 2), output="sos")
    x = np.random.default_rng(0).normal(size=chunk)
    zi = sosfilt_zi(sos) * 0.0
    times = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        _, zi = sosfilt(sos, x, zi=zi)
        times[i] = time.perf_counter() - t0
    return float(np.median(times) * 1000)


def run(info: StreamInfo, frame: Frame, chunk: int, timed: bool) -> np.ndarray:
    pipeline = Pipeline(info)
    starts = range(0, frame.n, chunk)
    costs = np.empty(len(starts))
    for k, start in enumerate(starts):
        part = frame.slice(start, min(start + chunk, frame.n))
        t0 = time.perf_counter()
        pipeline.process(part)
        costs[k] = time.perf_counter() - t0
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="session length (60)")
    args = parser.parse_args()
    seconds = args.minutes * 60.0
    t0 = time.perf_counter()
    info, frame = simulate(Script.random(1, duration_s=seconds), rate_hz=RATE_HZ, channels=4)
    print(
        f"simulated {seconds:.0f} s x {info.n_channels} channels in "
        f"{time.perf_counter() - t0:.1f} s"
    )

    live_chunk = round(0.010 * RATE_HZ)
    baseline_ms = sosfilt_call_ms(live_chunk)
    live = run(info, frame, live_chunk, timed=True) * 1000
    print(
        f"live: {live.size} chunks of {live_chunk} rows, mean {live.mean():.3f} ms, "
        f"p99 {np.percentile(live, 99):.3f} ms, max {live.max():.2f} ms; "
        f"one sosfilt call {baseline_ms:.3f} ms"
    )
    offline = run(info, frame, round(1.0 * RATE_HZ), timed=True)
    rows_per_s = frame.n / offline.sum()
    print(f"offline: {frame.n} rows in {offline.sum():.2f} s = {rows_per_s / 1e6:.2f} M rows/s")
    t0 = time.perf_counter()
    analyze(info, frame)  # what `palpate analyze` runs: the same pipeline in 10 s chunks
    analyze_s = time.perf_counter() - t0
    analyze_rate = frame.n / analyze_s
    print(f"analyze(): {frame.n} rows in {analyze_s:.2f} s = {analyze_rate / 1e6:.2f} M rows/s")
    print(
        json.dumps(
            {
                "live_chunk_mean_ms": round(float(live.mean()), 4),
                "live_chunk_p99_ms": round(float(np.percentile(live, 99)), 4),
                "live_vs_one_sosfilt": round(float(live.mean()) / baseline_ms, 2),
                "offline_rows_per_s": round(rows_per_s),
                "analyze_rows_per_s": round(analyze_rate),
                "sosfilt_call_ms": round(baseline_ms, 4),
                "rows": frame.n,
                "channels": info.n_channels,
            }
        )
    )


if __name__ == "__main__":
    main()
