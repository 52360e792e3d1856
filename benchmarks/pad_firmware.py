"""The pad firmware on CPython: cost of its hot paths, and its sample rate over a minute.

* hot paths: microseconds per sample for the timer's work (read 4 ADC channels and the
  accelerometer through the fake HAL, calibration lookup, push into the ring) and per
  packet for the sender (peek + consume of a 16-sample packet). CPython figures: the
  ESP32-S3 runs the same bytecode some 20-50 times slower, which is why the firmware keeps
  these paths to table lookups and preallocated buffers.
* a minute (``--seconds``) of the firmware streaming 4 channels + accelerometer at 1 kHz
  to palpate through bleak over a virtual link: the sample rate palpate measured (samples
  over the span of their session times, and samples over wall time), lost samples,
  timer firings and radio-busy retries.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time

import numpy as np

from firmware_bridge.virtual.pad_firmware import load_firmware, model_calibration_json


def hot_paths(n: int = 20_000) -> dict[str, float]:
    load_firmware()
    from padfw import calib
    from padfw.sampler import Sampler

    cal = calib.Calibration(model_calibration_json(4), 4)
    sampler = Sampler(4, True, capacity=n + 1)
    raw = [1000, 2000, 3000, 4000]
    row = [0] * 7
    start = time.perf_counter()
    for k in range(n):
        cal.convert(raw, row)
        row[4], row[5], row[6] = 3, -2, 1000
        sampler.push(k, row)
    per_sample = (time.perf_counter() - start) / n * 1e6
    buf = bytearray(244)
    packets = 0
    start = time.perf_counter()
    while True:
        length, rows = sampler.peek(buf, 16, 1000)
        if not length:
            break
        sampler.consume(rows)
        packets += 1
    per_packet = (time.perf_counter() - start) / packets * 1e6
    start = time.perf_counter()
    calib.Calibration(model_calibration_json(4), 4)
    build_s = time.perf_counter() - start
    return {
        "tick_us_per_sample": per_sample,
        "send_us_per_packet": per_packet,
        "calibration_tables_build_s": build_s,
    }


async def minute(seconds: float) -> dict[str, float]:
    from firmware_bridge.devices.pad import PadSource

    source = PadSource(virtual={"firmware": True, "seed": 1}, duration_s=seconds)
    samples, first_t, last_t = 0, None, 0.0
    async with source:
        wall0 = time.perf_counter()
        async for frame in source.frames():
            samples += frame.n
            first_t = float(frame.t[0]) if first_t is None else first_t
            last_t = float(frame.t[-1])
        wall = time.perf_counter() - wall0
        app = source.peer.app  # type: ignore[union-attr]
        hal = source.peer.hal  # type: ignore[union-attr]
    span = last_t - (first_t or 0.0)
    rate = (samples - 1) / span
    return {
        "seconds": span,
        "rate_hz_session_clock": rate,
        "rate_error_pct": abs(rate - 1000.0) / 10.0,
        "rate_hz_wall": samples / wall,
        "lost_samples": float(source.link.lost_samples),
        "timer_fires_per_s": hal.timer_fires / wall,
        "radio_busy_retries": float(app.busy_retries),
        "pad_dropped_samples": float(app.sampler.dropped),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="streaming time")
    args = parser.parse_args()
    os.environ.setdefault("PALPATE_STATE_DIR", tempfile.mkdtemp(prefix="palpate-bench-"))
    os.environ.setdefault("PALPATE_CONFIG_DIR", os.environ["PALPATE_STATE_DIR"])
    figures = hot_paths()
    for key, value in figures.items():
        print(f"{key:32s} {value:10.3f}")
    streamed = asyncio.run(minute(args.seconds))
    for key, value in streamed.items():
        print(f"{key:32s} {value:10.3f}")
    figures.update(streamed)
    print(json.dumps({k: round(float(v), 4) for k, v in figures.items() if np.isfinite(v)}))


if __name__ == "__main__":
    main()
