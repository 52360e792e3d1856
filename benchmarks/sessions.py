"""Session files: write cost, open, seek and streaming-replay memory.

A simulated session (default 1 hour, 1 kHz, 4 force channels) is recorded the way the
live session records it: 10 ms frames, one transaction every 0.2 s of data, WAL with
``synchronous=FULL`` (an fsync per commit). Then the file is opened, sought and streamed:

* write: with the writer thread (as live): what the acquisition thread spends per second
  of data and per commit; without it (2 minutes): the whole write cost per second of
  data and the p99 and worst transaction with its fsync; file size per hour;
* open: :meth:`SessionFile.open` and :class:`ReplaySource` construction, median of 5 (page
  cache warm: the file was just written);
* seek: time to the first frame at 50 random times (``SessionFile.blocks(t_from=...)``);
* memory: peak Python/numpy allocations (tracemalloc) while streaming the first 10 % and
  the whole session through a :class:`ReplaySource` as fast as possible; equal peaks mean
  memory does not grow with the session length.

Targets (sessions issue): open and seek <= 0.5 s for one hour at 1 kHz x 4 channels;
streaming memory flat.

Run: ``python benchmarks/sessions.py [--minutes M] [--folder DIR]``. The last line is one
JSON object: ``write_ms_per_s`` (the whole write, done in the caller), ``commit_p99_ms``,
``commit_max_ms`` (one transaction with its fsync), ``acquisition_ms_per_s`` and
``acquisition_commit_max_ms`` (what the acquisition thread spends with the writer thread
doing the I/O), ``writer_ms_per_s`` (wall time to store a second of data),
``mb_per_hour``,
``open_ms``, ``replay_open_ms``, ``seek_median_ms``, ``seek_max_ms``,
``stream_peak_mb_10pct``, ``stream_peak_mb_full`` (plus the session size).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.stream import Frame
from firmware_bridge.devices.simulator import Script, simulate
from sessions.csv_io import write_csv, write_csv_frames
from sessions.replay import ReplaySource
from sessions.store import SessionFile, SessionWriter

RATE_HZ = 1000.0
FRAME_N = 10  # 10 ms frames, as a BLE pad sends them
COMMIT_EVERY = 20  # frames: one commit per 0.2 s of data, as LiveSession does


def record(path: Path, minutes: float, background: bool) -> dict[str, float]:
    """Write a session as the live session does; time what the caller spends."""
    info, whole = simulate(
        Script.demo(3, minutes * 60.0), seed=3, rate_hz=RATE_HZ, channels=4,
        duration_s=minutes * 60.0,
    )  # fmt: skip
    writer = SessionWriter.create(path, started_at_unix=time.time(), background=background)
    writer.add_stream("sim", info)
    commits = []
    spent = 0.0
    wall = time.perf_counter()
    for k, start in enumerate(range(0, whole.n, FRAME_N)):
        frame = Frame(whole.t[start : start + FRAME_N], whole.x[start : start + FRAME_N], start)
        t0 = time.perf_counter()
        writer.add_frame("sim", frame)
        if (k + 1) % COMMIT_EVERY == 0:
            c0 = time.perf_counter()
            writer.commit()
            commits.append(time.perf_counter() - c0)
        spent += time.perf_counter() - t0
    t0 = time.perf_counter()
    writer.close()
    closing = time.perf_counter() - t0
    wall = time.perf_counter() - wall
    seconds = whole.n / RATE_HZ
    c = np.array(commits) * 1000
    return {
        "samples": whole.n,
        "caller_ms_per_s": 1000 * spent / seconds,
        "commit_median_ms": float(np.median(c)),
        "commit_p99_ms": float(np.percentile(c, 99)),
        "commit_max_ms": float(c.max()),
        "close_ms": 1000 * closing,
        "wall_ms_per_s": 1000 * wall / seconds,
        "mb_per_hour": path.stat().st_size / 1e6 * 3600 / seconds,
    }


def timed(fn, repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def open_and_seek(path: Path) -> dict[str, float]:
    def open_close() -> None:
        SessionFile.open(path).close()

    opens = timed(open_close, 5)
    replay_opens = timed(lambda: ReplaySource(path), 5)
    rng = np.random.default_rng(0)
    seeks = []
    with SessionFile.open(path) as f:
        t_first, t_last = f.t_first, f.t_last
        for t in rng.uniform(t_first, t_last, 50):
            t0 = time.perf_counter()
            frame = next(f.blocks(t_from=float(t)))
            seeks.append((time.perf_counter() - t0) * 1000)
            assert frame.t[0] >= t and frame.t[0] - t < 0.01
    return {
        "open_ms": float(np.median(opens)),
        "replay_open_ms": float(np.median(replay_opens)),
        "seek_median_ms": float(np.median(seeks)),
        "seek_max_ms": float(np.max(seeks)),
    }


def stream_peak_mb(path: Path, until_s: float) -> tuple[float, int]:
    """Peak traced memory while a ReplaySource plays ``[start, until_s]`` as fast as
    possible, MB, and the samples played."""
    source = ReplaySource(path, speed=math.inf)

    async def play() -> int:
        n = 0
        async with source:
            async for frame in source.frames():
                n += frame.n
                if frame.t[-1] >= until_s:
                    break
        return n

    tracemalloc.start()
    tracemalloc.reset_peak()
    n = asyncio.run(play())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6, n


def export_peak_mb(path: Path, folder: Path) -> dict[str, float]:
    """Peak traced memory of ``palpate export``'s way (block by block) and, as the
    baseline in the same process, of writing the stream read as one frame, MB."""
    out: dict[str, float] = {}
    with SessionFile.open(path) as f:
        stream = f.streams[0]
        for key, write in (
            ("export_peak_mb", lambda o: write_csv_frames(o, stream.info, f.blocks(stream.name))),
            (
                "export_whole_frame_peak_mb",
                lambda o: write_csv(o, stream.info, f.read(stream.name)),
            ),
        ):
            target = folder / f"{key}.csv"
            tracemalloc.start()
            tracemalloc.reset_peak()
            write(target)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out[key] = peak / 1e6
            out["csv_mb"] = target.stat().st_size / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="session length")
    parser.add_argument("--folder", type=Path, help="where to write (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        path = Path(folder) / "bench.palpate"
        print(f"writing {args.minutes:g} min at {RATE_HZ:g} Hz x 4 channels ...", flush=True)
        w = record(path, args.minutes, background=True)
        print(
            f"live recording (writer thread): the acquisition thread spends "
            f"{w['caller_ms_per_s']:.2f} ms per second of data; handing over a commit takes "
            f"median {w['commit_median_ms']:.3f} ms, max {w['commit_max_ms']:.2f} ms; "
            f"the writer thread stores a second of data in {w['wall_ms_per_s']:.1f} ms "
            f"(fed as fast as possible); {w['mb_per_hour']:.0f} MB per hour"
        )
        sync = record(Path(folder) / "sync.palpate", min(args.minutes, 2.0), background=False)
        print(
            f"the disk's share (same writes in the caller, {min(args.minutes, 2.0):g} min): "
            f"{sync['caller_ms_per_s']:.2f} ms per second of data "
            f"({sync['caller_ms_per_s'] / 10:.2f} % of one core); one commit (fsync) median "
            f"{sync['commit_median_ms']:.2f} ms, p99 {sync['commit_p99_ms']:.2f} ms, max "
            f"{sync['commit_max_ms']:.1f} ms"
        )
        o = open_and_seek(path)
        print(
            f"open: {o['open_ms']:.1f} ms (ReplaySource {o['replay_open_ms']:.1f} ms); "
            f"seek: median {o['seek_median_ms']:.2f} ms, max {o['seek_max_ms']:.2f} ms "
            "(target <= 500 ms)"
        )
        total_s = w["samples"] / RATE_HZ
        small, n_small = stream_peak_mb(path, 0.1 * total_s)
        full, n_full = stream_peak_mb(path, math.inf)
        print(
            f"streaming replay peak memory: {small:.2f} MB over {n_small / RATE_HZ:.0f} s, "
            f"{full:.2f} MB over {n_full / RATE_HZ:.0f} s"
        )
        e = export_peak_mb(path, Path(folder))
        print(
            f"export to CSV ({e['csv_mb']:.0f} MB): peak memory {e['export_peak_mb']:.1f} MB "
            f"block by block, {e['export_whole_frame_peak_mb']:.1f} MB from one whole frame "
            f"(ratio {e['export_peak_mb'] / e['export_whole_frame_peak_mb']:.3f})"
        )
    result = {
        "minutes": args.minutes,
        "rate_hz": RATE_HZ,
        "channels": 4,
        "samples": w["samples"],
        "mb_per_hour": round(w["mb_per_hour"], 1),
        "acquisition_ms_per_s": round(w["caller_ms_per_s"], 3),
        "acquisition_commit_max_ms": round(w["commit_max_ms"], 3),
        "write_ms_per_s": round(sync["caller_ms_per_s"], 3),
        "commit_p99_ms": round(sync["commit_p99_ms"], 3),
        "commit_max_ms": round(sync["commit_max_ms"], 3),
        "writer_ms_per_s": round(w["wall_ms_per_s"], 3),
        **{k: round(v, 3) for k, v in o.items()},
        "stream_peak_mb_10pct": round(small, 3),
        "stream_peak_mb_full": round(full, 3),
        **{k: round(v, 2) for k, v in e.items()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
