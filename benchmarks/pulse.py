"""How well the pulse check does on simulated holds and sessions nobody tuned on.

Two sets of streams, rendered by the simulator (which knows where the pulses are):

* **Holds**: a rest, a 30 s hold pressed in at 20 kPa/s, a rest. With a pulse at 50, 72,
  95 and 110 bpm, 1, 2 and 3 % of the level (peak to peak), at 20, 40 and 80 kPa; and
  the same holds without a pulse. At 100 Hz and 1 kHz, 1 and 4 channels; seeds 9500+.
* **Sessions**: ``Script.random`` sessions (seeds 9100+, ``pulse_prob=0.5`` so there
  are enough pulse holds) at 100 Hz and 1 kHz, 1 and 4 channels. Pulse holds there are
  55-95 bpm at 1-3 %, 15-150 kPa, 4-20 s long, often sharing an episode with circular
  strokes and kneading.

Tuning used other seeds (holds 5000+, sessions 40-51 and 7000-7005), never these.

Scoring, from the simulator's truth:

* a pulse hold is *detected* when a pulse-on event falls inside it (up to 0.5 s after it
  ends); the *latency* is that event's time minus the start of the hold's plateau (the
  end of its press-in ramp); the *bpm error* is the event's rate minus the truth;
* a pulse held on through consecutive segments (deepened, eased off) is one pulse;
* in sessions only pulses with at least ``window_s + 2`` s between the end of the
  press-in and the start of the release are expected to be detected (a shorter one
  cannot fill an analysis window); shorter ones are reported apart;
* a *false detection* is a pulse-on event whose analysis window (``window_s`` before it)
  touches no pulse hold; they are counted per hour of contact without a pulse (holds
  without a pulse, circular strokes, kneading);
* the *off delay* is the pulse-off event's time minus the end of the pulse (the hand has
  released or moved to another stroke): negative when the release itself switched it
  off.

Speed: microseconds per analysis window (a hold without a pulse, and a window where a
pulse starts, the dearest), per 10 ms chunk of a live 1 kHz stream (amortised over all
chunks, analyses included), and rows per second offline (1 s chunks at 1 kHz).

Run: ``python benchmarks/pulse.py [--quick]``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.pressure import PressureMap
from analysis.pulse import PulseConfig, PulseDetector
from analysis.stream import Event
from firmware_bridge.devices.simulator import Script, simulate

AREA_CM2 = 2.0  # the simulator's default contact area
PRESS_KPA_S = 20.0
CONFIG = PulseConfig()


@dataclass
class Tally:
    """Figures gathered over many streams."""

    expected: int = 0
    detected: int = 0
    latencies_s: list[float] = field(default_factory=list)
    bpm_errors: list[float] = field(default_factory=list)
    off_delays_s: list[float] = field(default_factory=list)
    short: int = 0
    short_detected: int = 0
    false: int = 0
    clean_s: float = 0.0
    missed: list[tuple[object, ...]] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def summary(self) -> dict[str, object]:
        lat = np.array(self.latencies_s)
        err = np.abs(np.array(self.bpm_errors))
        off = np.array(self.off_delays_s)
        hours = self.clean_s / 3600.0

        def fig(values: np.ndarray, how: str) -> float | None:
            if not values.size:
                return None
            return round(float(np.median(values) if how == "median" else values.max()), 2)

        return {
            "pulses": self.expected,
            "detected": self.detected,
            "detection_rate": round(self.detected / self.expected, 3) if self.expected else None,
            "latency_median_s": fig(lat, "median"),
            "latency_worst_s": fig(lat, "max"),
            "bpm_error_median": fig(err, "median"),
            "bpm_error_worst": fig(err, "max"),
            "off_delay_median_s": fig(off, "median"),
            "off_delay_worst_s": fig(off, "max"),
            "short_pulses": self.short,
            "short_detected": self.short_detected,
            "false_detections": self.false,
            "no_pulse_contact_h": round(hours, 2),
            "false_per_hour": round(self.false / hours, 2) if hours else None,
        }


@dataclass(frozen=True)
class Episode:
    """A run of consecutive pulse segments (the same pulse held, perhaps deepened)."""

    start_s: float  # the pulse starts
    steady_s: float  # the press-in into it has ended
    release_s: float  # the release out of it starts (or end_s)
    end_s: float  # the hand leaves it
    bpm: float
    p2p_kpa: float  # at the first segment's level


def episodes(script: Script) -> list[Episode]:
    out: list[Episode] = []
    segments = script.segments
    k = 0
    while k < len(segments):
        seg = segments[k]
        if seg.pulse_bpm == 0:
            k += 1
            continue
        last = k
        while last + 1 < len(segments) and segments[last + 1].pulse_bpm == seg.pulse_bpm:
            last += 1
        steady = seg.start_s
        for ramp in script.ramps:
            if abs(ramp.onset_s - seg.start_s) < 1e-6:
                steady = ramp.end_s
        end = segments[last].end_s
        release = min(
            [r.onset_s for r in script.ramps if steady <= r.onset_s < end and r.end_kpa == 0]
            + [end]
        )
        p2p = seg.pulse_frac * seg.level_kpa
        out.append(Episode(seg.start_s, steady, release, end, seg.pulse_bpm, p2p))
        k = last + 1
    return out


def pressure_of(script: Script, rate_hz: float, channels: int, seed: int) -> tuple:
    info, frame = simulate(script, rate_hz=rate_hz, channels=channels, seed=seed)
    pressure = PressureMap(info, AREA_CM2).pressure_kpa(frame.x)
    assert pressure is not None
    return frame.t, pressure


def detect(t: np.ndarray, pressure: np.ndarray, rate_hz: float, chunk_s: float = 1.0) -> list:
    detector = PulseDetector(rate_hz, CONFIG)
    step = max(1, round(chunk_s * rate_hz))
    events: list[Event] = []
    for start in range(0, t.size, step):
        events += detector.update(t[start : start + step], pressure[start : start + step])
    return events


def score(script: Script, events: list[Event], min_steady_s: float) -> Tally:
    tally = Tally()
    ons = [e for e in events if e.data["on"]]
    offs = [e for e in events if not e.data["on"]]
    found = episodes(script)
    for ep in found:
        hits = [e for e in ons if ep.start_s <= e.t <= ep.end_s + 0.5]
        long_enough = ep.release_s - ep.steady_s >= min_steady_s
        tally.expected += long_enough
        tally.short += not long_enough
        if hits and long_enough:
            tally.detected += 1
            tally.latencies_s.append(hits[0].t - ep.steady_s)
            tally.bpm_errors.append(float(hits[0].data["bpm"]) - ep.bpm)
        elif hits:
            tally.short_detected += 1
        elif long_enough:
            tally.missed.append((round(ep.start_s, 1), ep.bpm, round(ep.p2p_kpa, 2)))
        if hits:
            after = [e for e in offs if e.t >= hits[0].t]
            if after:
                tally.off_delays_s.append(after[0].t - ep.end_s)
    window_s = CONFIG.window_s
    for e in ons:
        if not any(ep.start_s < e.t and ep.end_s > e.t - window_s for ep in found):
            tally.false += 1
    clean = [s for s in script.segments if s.stroke != "rest" and s.pulse_bpm == 0]
    tally.clean_s = sum(s.duration_s for s in clean)
    return tally


SIZES_KPA = ((0.0, 0.5), (0.5, 1.0), (1.0, np.inf))


def holds(rates: tuple[float, ...], seeds: int) -> tuple[dict[str, Tally], dict[str, Tally]]:
    """Per stream, and per pulse size (peak to peak, kPa) over all streams."""
    out: dict[str, Tally] = {}
    by_size = {f"{lo:g}-{hi:g} kPa": Tally() for lo, hi in SIZES_KPA}
    seed = 9500
    for rate_hz in rates:
        for channels in (1, 4):
            tally = out.setdefault(f"{rate_hz:g}Hz/{channels}ch", Tally())
            for level in (20.0, 40.0, 80.0):
                for bpm in (50.0, 72.0, 95.0, 110.0):
                    for frac in (0.01, 0.02, 0.03):
                        for _ in range(seeds):
                            seed += 1
                            options = {
                                "ramp_kpa_s": PRESS_KPA_S,
                                "pulse_bpm": bpm,
                                "pulse_frac": frac,
                            }
                            steps = [("rest", 3.0), ("hold", 30.0, level, options), ("rest", 3.0)]
                            script = Script.scripted(steps)
                            t, p = pressure_of(script, rate_hz, channels, seed)
                            result = score(script, detect(t, p, rate_hz), 0.0)
                            tally.add(result)
                            p2p = frac * level
                            for (lo, hi), key in zip(SIZES_KPA, by_size, strict=True):
                                if lo <= p2p < hi:
                                    by_size[key].add(result)
                for _ in range(4 * seeds):
                    seed += 1
                    steps = [
                        ("rest", 3.0),
                        ("hold", 60.0, level, {"ramp_kpa_s": PRESS_KPA_S}),
                        ("rest", 3.0),
                    ]
                    script = Script.scripted(steps)
                    t, p = pressure_of(script, rate_hz, channels, seed)
                    tally.add(score(script, detect(t, p, rate_hz), 0.0))
    return out, by_size


def sessions(rates: tuple[float, ...], seeds: int, duration_s: float) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    min_steady_s = CONFIG.window_s + 2.0
    for rate_hz in rates:
        for channels in (1, 4):
            tally = out.setdefault(f"{rate_hz:g}Hz/{channels}ch", Tally())
            for k in range(seeds):
                seed = 9100 + k
                script = Script.random(seed, duration_s, pulse_prob=0.5)
                t, p = pressure_of(script, rate_hz, channels, seed)
                tally.add(score(script, detect(t, p, rate_hz), min_steady_s))
    return out


def speed() -> dict[str, float]:
    rate_hz = 1000.0
    script = Script.scripted(
        [
            ("rest", 3.0),
            ("hold", 27.0, 40.0, {"ramp_kpa_s": 20.0}),
            ("hold", 30.0, 40.0, {"pulse_bpm": 72.0}),
            ("kneading", 60.0, 60.0, 1.0),
        ]
    )
    t, p = pressure_of(script, rate_hz, 1, 1)
    detector = PulseDetector(rate_hz, CONFIG)
    q, n = detector._q, detector._win_n

    def window_at(t_s: float) -> np.ndarray:
        end = round(t_s * rate_hz)
        return p[end - n * q : end].reshape(n, q).mean(axis=1)

    def per_call_us(window: np.ndarray) -> float:
        best = np.inf
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(400):
                detector.analyse(window)
            best = min(best, (time.perf_counter() - began) / 400 * 1e6)
        return float(best)

    hold, pulse = window_at(25.0), window_at(55.0)
    assert not detector.analyse(hold).positive and detector.analyse(pulse).positive
    best_chunk, best_rows = np.inf, 0.0
    for _ in range(3):
        began = time.perf_counter()
        detect(t, p, rate_hz, chunk_s=0.01)
        best_chunk = min(best_chunk, (time.perf_counter() - began) / (t.size / 10) * 1e6)
        began = time.perf_counter()
        detect(t, p, rate_hz, chunk_s=1.0)
        best_rows = max(best_rows, t.size / (time.perf_counter() - began))
    return {
        "analysis_us": round(per_call_us(hold), 1),
        "onset_analysis_us": round(per_call_us(pulse), 1),
        "chunk_10ms_us": round(best_chunk, 2),
        "offline_rows_per_s": round(best_rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter streams")
    args = parser.parse_args()
    began = time.perf_counter()
    rates = (100.0, 1000.0)
    n_sessions, duration_s = (1, 300.0) if args.quick else (12, 900.0)

    total_holds, total_sessions = Tally(), Tally()
    per_stream, by_size = holds(rates, 1)
    for key, tally in per_stream.items():
        row = {"set": "holds", "stream": key, **tally.summary(), "missed": tally.missed[:6]}
        print(json.dumps(row))
        total_holds.add(tally)
    for key, tally in by_size.items():
        summary = tally.summary()
        row = {"set": "holds", "pulse_p2p": key}
        row |= {
            k: summary[k]
            for k in (
                "pulses",
                "detection_rate",
                "latency_median_s",
                "latency_worst_s",
                "bpm_error_worst",
            )
        }
        print(json.dumps(row))
    for key, tally in sessions(rates, n_sessions, duration_s).items():
        row = {"set": "sessions", "stream": key, **tally.summary(), "missed": tally.missed[:6]}
        print(json.dumps(row))
        total_sessions.add(tally)
    figures = speed()
    print(json.dumps({"speed": figures}))
    result = {
        "holds": total_holds.summary(),
        "sessions": total_sessions.summary(),
        **figures,
        "seconds": round(time.perf_counter() - began, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
