"""Frame time of the live window with 10 minutes of 1 kHz, 4-channel history, offscreen.

A simulated 4-channel pad at 1 kHz streams 600 s as fast as it can through a real
LiveSession (pipeline, ring buffers), then keeps streaming in real time; the live
window is shown offscreen and its frames are driven at 50 Hz. One frame is what the
window's timer does: pull the new rows, drain events, update every plot and readout,
then let Qt lay out and paint (``processEvents``). Also measured: frames while the
view is scrolled back 5 minutes, and in partner mode.

Last line: one JSON object with ``frame_ms_median`` and ``frame_ms_p95`` (following
now, the case that runs all session long) and the other figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sessions.live import LiveSession
from ui.gui import catch_up_sim, qt_app, scratch_settings, wait_for_data
from ui.live_window import LiveWindow

CPU_MS: list[float] = []
"""Main-thread CPU time of every frame driven, ms (less sensitive to other processes)."""


def frames(window: LiveWindow, n: int, fps: float = 50.0) -> list[float]:
    """Drive ``n`` frames at ``fps``; return each frame's wall time in ms."""
    app = qt_app()
    out = []
    period = 1.0 / fps
    for _ in range(n):
        t0 = time.perf_counter()
        c0 = time.thread_time()
        window.tick()
        app.processEvents()
        dt = time.perf_counter() - t0
        CPU_MS.append((time.thread_time() - c0) * 1000.0)
        out.append(dt * 1000.0)
        time.sleep(max(0.0, period - dt))
    return out


def figures(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-s", type=float, default=600.0)
    parser.add_argument("--rate-hz", type=float, default=1000.0)
    parser.add_argument("--frames", type=int, default=500)
    args = parser.parse_args()

    app = qt_app()
    source = catch_up_sim(args.history_s, rate_hz=args.rate_hz, channels=4, seed=1, block_s=0.02)
    session = LiveSession(source, history_s=3600.0)
    window = LiveWindow(session, device="sim", settings=scratch_settings())
    window.timer.setInterval(10_000_000)  # frames are driven below
    window.resize(1400, 860)
    window.show()
    t = time.perf_counter()
    wait_for_data(session, args.history_s, timeout_s=600.0)
    print(
        f"history: {args.history_s:g} s at {args.rate_hz:g} Hz x 4 channels "
        f"({len(session.pressure)} rows) loaded in {time.perf_counter() - t:.1f} s"
    )
    first = frames(window, 1)[0]  # the first frame pulls the whole history
    frames(window, 30)  # warm up
    CPU_MS.clear()
    follow = frames(window, args.frames)
    cpu_med, cpu_p95 = figures(CPU_MS)
    med, p95 = figures(follow)
    print(f"first frame (pulls {args.history_s:g} s of history): {first:.1f} ms")
    print(
        f"following now: median {med:.2f} ms, p95 {p95:.2f} ms, max {max(follow):.2f} ms "
        f"over {len(follow)} frames (main-thread CPU: median {cpu_med:.2f} ms, "
        f"p95 {cpu_p95:.2f} ms)"
    )

    t_end = window.view.readings.t
    window.view.traces.show_range(t_end - 330.0, t_end - 300.0)
    back_med, back_p95 = figures(frames(window, args.frames // 2))
    print(f"scrolled back 5 min: median {back_med:.2f} ms, p95 {back_p95:.2f} ms")
    window.view.traces.follow()
    window.toggle_partner()
    partner_med, partner_p95 = figures(frames(window, args.frames // 2))
    print(f"partner mode: median {partner_med:.2f} ms, p95 {partner_p95:.2f} ms")
    window.close()
    app.processEvents()
    print(
        json.dumps(
            {
                "frame_ms_median": round(med, 3),
                "frame_ms_p95": round(p95, 3),
                "frame_cpu_ms_median": round(cpu_med, 3),
                "frame_cpu_ms_p95": round(cpu_p95, 3),
                "first_frame_ms": round(first, 1),
                "scrolled_back_ms_median": round(back_med, 3),
                "scrolled_back_ms_p95": round(back_p95, 3),
                "partner_ms_median": round(partner_med, 3),
                "history_rows": len(session.pressure),
            }
        )
    )


if __name__ == "__main__":
    main()
