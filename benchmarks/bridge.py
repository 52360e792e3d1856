"""Speed of the device bridge: decoders, clock alignment, and a 1 kHz × 4-channel pad end to end.

* decoders: microseconds per packet for the pad (25 samples × 4 channels), the
  Progressor (15 pairs), Polar (a delta-compressed frame of 36 samples) and a UART
  text line, each on realistic bytes;
* clock: microseconds per ``ClockAligner.add`` + ``map`` (one notification);
* end to end: a virtual palpate pad at 1 kHz × 4 channels streams through bleak and the
  bumble link for ``--seconds``; reported are samples received per second (1000 is
  everything), lost samples, the CPU time per second of streaming (central and
  peripheral both run in this process, so this is an upper bound for the central),
  and how old a frame's newest sample is when it is yielded (ms, median and p95:
  packetisation 25 ms + link).

Run: ``python benchmarks/bridge.py [--seconds S]``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_bridge.clock import ClockAligner
from firmware_bridge.devices import nus, pad, polar, tindeq


def per_call_us(fn: object, payload: bytes, repeat: int = 20_000) -> float:
    call = fn  # type: ignore[assignment]
    start = time.perf_counter()
    for _ in range(repeat):
        call(payload)  # type: ignore[operator]
    return (time.perf_counter() - start) / repeat * 1e6


def decoders() -> dict[str, float]:
    rng = np.random.default_rng(0)
    counts = rng.integers(-2000, 2000, (25, 4)).astype(np.int16)
    pad_packet = pad.encode_data(counts, seq=1, first_sample=25, t_us=25_000, period_us=1000)
    kg = rng.normal(10, 1, 15)
    tindeq_packet = tindeq.encode_weights(kg, np.arange(15) * 12_500)
    walk = np.cumsum(rng.integers(-20, 21, (36, 3)), axis=0) + 1000
    polar_packet = polar.encode_delta(walk, 10**18)
    fmt = nus.LineFormat.parse("t_ms,raw1,raw2")
    return {
        "pad_decode_us_per_packet": per_call_us(pad.decode_data, pad_packet),
        "tindeq_decode_us_per_packet": per_call_us(tindeq.decode, tindeq_packet),
        "polar_delta_decode_us_per_frame": per_call_us(polar.decode, polar_packet, 5000),
        "nus_parse_us_per_line": per_call_us(lambda b: nus.parse_line(b, fmt), b"1234,512,77"),
    }


def aligner_us() -> float:
    aligner = ClockAligner()
    dev = np.arange(25, dtype=np.float64) / 1000
    n = 20_000
    start = time.perf_counter()
    for k in range(n):
        aligner.add(k * 0.025 + 0.024, 1.0 + k * 0.025 + 0.03)
        aligner.map(dev + k * 0.025)
    return (time.perf_counter() - start) / n * 1e6


async def end_to_end(seconds: float) -> dict[str, float]:
    from firmware_bridge.devices.pad import PadSource

    source = PadSource(virtual={"seed": 1}, duration_s=seconds)
    loop = asyncio.get_running_loop()
    ages, samples = [], 0
    async with source:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        async for frame in source.frames():
            ages.append((loop.time() - source._t0) - float(frame.t[-1]))
            samples += frame.n
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    ages_ms = np.array(ages[10:]) * 1000
    return {
        "pad_1khz_4ch_samples_per_s": samples / wall,
        "pad_1khz_4ch_lost_samples": float(source.link.lost_samples),
        "pad_1khz_4ch_cpu_s_per_s": cpu / wall,
        "pad_frame_age_ms_median": float(np.median(ages_ms)),
        "pad_frame_age_ms_p95": float(np.percentile(ages_ms, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="end-to-end streaming time")
    args = parser.parse_args()
    os.environ.setdefault("PALPATE_STATE_DIR", tempfile.mkdtemp(prefix="palpate-bench-"))
    os.environ.setdefault("PALPATE_CONFIG_DIR", os.environ["PALPATE_STATE_DIR"])
    figures = decoders()
    figures["aligner_us_per_packet"] = aligner_us()
    figures.update(asyncio.run(end_to_end(args.seconds)))
    for key, value in figures.items():
        print(f"{key:<36} {value:10.2f}")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
