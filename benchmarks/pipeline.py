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

``--stages`` also prints where the time goes, stage by stage, in µs per second of data at
1 s and at 10 s chunks: what a stage costs at 10 s is about its cost per sample and per
window; what it adds at 1 s is its cost per call.

Run: ``python benchmarks/pipeline.py [--minutes M] [--stages]``. The last line is one JSON
object:
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


def _stages(info: StreamInfo, frame: Frame, chunk: int) -> dict[str, float]:
    """Seconds spent in each stage of one pass in ``chunk``-row chunks (the stages' methods
    are wrapped on this pipeline's own objects)."""
    pipeline = Pipeline(info)
    spent: dict[str, float] = {}

    def timed(owner: object, name: str, stage: str) -> None:
        method = getattr(owner, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - t0

        setattr(owner, name, wrapper)

    timed(pipeline.map, "pressure_kpa", "pressure (calibration, area)")
    timed(pipeline.gate, "update", "spike gate")
    timed(pipeline.ramp, "update_blocks", "ramp (working level, rate)")
    timed(pipeline, "_judge_pace", "measured rate")
    timed(pipeline.warnings, "update", "warning levels")
    timed(pipeline.map, "cop", "centre of pressure")
    timed(pipeline.strokes, "update", "strokes")
    if pipeline.pulse is not None:
        timed(pipeline.pulse, "update", "pulse check")
    for name in ("add_samples", "add_blocks", "add_windows", "add_events"):
        timed(pipeline.summary, name, "summary")
    total = 0.0
    for start in range(0, frame.n, chunk):
        part = frame.slice(start, min(start + chunk, frame.n))
        t0 = time.perf_counter()
        pipeline.process(part)
        total += time.perf_counter() - t0
    spent["rest (pipeline glue)"] = total - sum(spent.values())
    spent["total"] = total
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="session length (60)")
    parser.add_argument("--stages", action="store_true", help="also print the cost of each stage")
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
    if args.stages:
        per_s = seconds / 1e6  # µs per second of data
        one, ten = (_stages(info, frame, round(c * RATE_HZ)) for c in (1.0, 10.0))
        print("stage: µs per second of data at 1 s chunks / at 10 s chunks")
        for stage in sorted(one, key=lambda k: (k == "total", -one[k])):
            print(f"  {stage:30s} {one[stage] / per_s:7.1f} / {ten.get(stage, 0.0) / per_s:7.1f}")
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
