"""Train the stroke classifier and write its parameters to ``analysis/stroke_model.py``.

The model is a multinomial logistic regression on standardised window features (see
:mod:`analysis.strokes`), one per set of signals a stream can have: ``pressure``,
``pressure+cop``, ``accel``, ``pressure+accel``, ``pressure+cop+accel``.

Training data: simulated sessions (``Script.random``) with script and session seeds
:data:`TRAIN_SEEDS` (the benchmark uses seeds from 5000 on, never these), 300 s each,
at rates :data:`RATES_HZ`, contact areas :data:`AREAS_CM2`, one and four force
channels, all with a phone accelerometer (gravity included). Every window of every
stream is used, labelled with the stroke that covers most of its samples. Features
are computed by the same :class:`~analysis.strokes.StrokeTracker` that runs live.

The fit is deterministic (fixed seeds, L-BFGS from zeros, single-threaded BLAS), so
running ``python benchmarks/train_strokes.py`` again writes the same parameters (only
the date line changes). ``--check`` fits and prints training accuracy without
writing. Takes about a minute on two cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import datetime as dt
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.pressure import PressureMap  # noqa: E402
from analysis.strokes import FEATURES, STROKES, StrokeTracker  # noqa: E402
from firmware_bridge.devices.simulator import Script, simulate  # noqa: E402

VERSION = 1
TRAIN_SEEDS = tuple(range(1, 61))  # contiguous: stored as a range
DURATION_S = 300.0
RATES_HZ = (80.0, 100.0, 200.0, 500.0, 1000.0)
AREAS_CM2 = (1.0, 2.0, 4.0, 8.0, 25.0)
L2 = 1e-5  # penalty on the weights (standardised features), per window
MODEL_KEYS = (
    ("pressure",),
    ("pressure", "cop"),
    ("accel",),
    ("pressure", "accel"),
    ("pressure", "cop", "accel"),
)


def training_streams() -> list[dict[str, Any]]:
    """The training sessions: seed, rate, area and channels of each."""
    streams = []
    for i, seed in enumerate(TRAIN_SEEDS):
        streams.append(
            {
                "seed": seed,
                "rate_hz": RATES_HZ[i % len(RATES_HZ)],
                "area_cm2": AREAS_CM2[(i // len(RATES_HZ) + i) % len(AREAS_CM2)],
                "channels": (1, 4)[i % 2],
            }
        )
    return streams


def stream_windows(
    seed: int,
    rate_hz: float,
    area_cm2: float,
    channels: int,
    duration_s: float = DURATION_S,
    accel: bool = True,
) -> dict[str, Any]:
    """Simulate one session and return its windows' features and truth.

    Returns
    -------
    dict
        ``features`` name -> shape (k,); ``truth`` (k,) majority label code;
        ``mixed`` (k,) bool, True where the window holds more than one stroke;
        ``start`` (k,) seconds; ``groups`` the signal groups the stream has.
    """
    script = Script.random(seed, duration_s)
    info, frame = simulate(
        script, rate_hz=rate_hz, channels=channels, accel=accel, area_cm2=area_cm2, seed=seed
    )
    pmap = PressureMap(info, area_cm2)
    tracker = StrokeTracker(rate_hz)
    x = frame.x
    starts, feats = tracker.features(
        frame.t, pmap.pressure_kpa(x), cop=pmap.cop(x), accel=pmap.accel(x)
    )
    truth, mixed = window_truth(script, frame.t, rate_hz, tracker)
    return {
        "features": feats,
        "truth": truth[: starts.size],
        "mixed": mixed[: starts.size],
        "start": starts,
        "groups": tuple(g for g in FEATURES if FEATURES[g][0] in feats),
        "seed": seed,
        "rate_hz": rate_hz,
        "area_cm2": area_cm2,
        "channels": channels,
    }


def window_truth(
    script: Script, t: np.ndarray, rate_hz: float, tracker: StrokeTracker
) -> tuple[np.ndarray, np.ndarray]:
    """Majority label over each window's samples, and whether the window is mixed."""
    labels = script.labels_at(t).astype(np.int64)
    onehot = np.zeros((t.size + 1, len(STROKES)))
    onehot[np.arange(1, t.size + 1), labels] = 1.0
    counts = np.cumsum(onehot, axis=0)
    win_n = max(4, round(tracker.window_s * rate_hz))
    hop_n = max(1, round(0.25 * rate_hz))
    s = np.arange(0, t.size - win_n + 1, hop_n)
    inside = counts[s + win_n] - counts[s]
    return inside.argmax(axis=1), inside.max(axis=1) < win_n


def _stream_job(spec: dict[str, Any]) -> dict[str, Any]:
    return stream_windows(**spec)


def collect(specs: list[dict[str, Any]], workers: int = 2) -> list[dict[str, Any]]:
    """Windows of several sessions, in the order of ``specs`` (in parallel)."""
    if workers <= 1:
        return [_stream_job(s) for s in specs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_stream_job, specs))


def design(
    streams: list[dict[str, Any]], groups: tuple[str, ...], augment: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Feature names, matrix (k, f) and labels (k,) of the streams that have ``groups``.

    ``augment`` (accelerometer-only training) adds a copy of every fourth unmixed
    circular or kneading window with its tremor features taken from a rest window of
    the same stream: in the simulator every pressing hand trembles, and without these
    rows the model would learn that a hand without tremor is at rest even while it
    strokes in circles.
    """
    names = [n for g in groups for n in FEATURES[g]]
    tremor = [i for i, n in enumerate(names) if n.startswith("a_tremor")]
    rows, ys = [], []
    for s in streams:
        if not all(g in s["groups"] for g in groups):
            continue
        x = np.column_stack([s["features"][n] for n in names])
        rows.append(x)
        ys.append(s["truth"])
        if augment:
            pure = ~s["mixed"]
            rest = np.flatnonzero(pure & (s["truth"] == 0))
            moving = np.flatnonzero(pure & (s["truth"] >= 2))[::4]
            if rest.size and moving.size:
                extra = x[moving].copy()
                donors = rest[np.arange(moving.size) % rest.size]
                extra[:, tremor] = x[donors][:, tremor]
                rows.append(extra)
                ys.append(s["truth"][moving])
    return names, np.concatenate(rows), np.concatenate(ys)


def fit_softmax(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: weights (4, f) and bias (4,), L-BFGS from zeros."""
    k, f = x.shape
    c = len(STROKES)
    onehot = np.eye(c)[y]
    counts = onehot.sum(axis=0)
    weight = (k / (c * np.maximum(counts, 1.0)))[y]  # balance the classes

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: c * f].reshape(c, f)
        b = theta[c * f :]
        z = x @ w.T + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = -(weight * (onehot * logp).sum(axis=1)).sum() / k
        g = (np.exp(logp) - onehot) * weight[:, None] / k
        grad_w = g.T @ x + 2 * l2 * w
        return nll + l2 * float((w * w).sum()), np.concatenate((grad_w.ravel(), g.sum(axis=0)))

    res = minimize(
        loss, np.zeros(c * f + c), jac=True, method="L-BFGS-B", options={"maxiter": 3000}
    )
    return res.x[: c * f].reshape(c, f), res.x[c * f :]


def train(streams: list[dict[str, Any]]) -> dict[str, Any]:
    """Fit every model; returns the ``models`` part of :data:`analysis.stroke_model.MODEL`."""
    models: dict[str, Any] = {}
    for groups in MODEL_KEYS:
        names, x, y = design(streams, groups, augment=groups == ("accel",))
        lo, hi = np.percentile(x, [0.1, 99.9], axis=0)
        x = np.clip(x, lo, hi)
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        z = (x - mean) / scale
        w, b = fit_softmax(z, y)
        acc = float((np.argmax(z @ w.T + b, axis=1) == y).mean())
        print(f"{'+'.join(groups):22s} {x.shape[0]:6d} windows, training accuracy {acc:.4f}")
        models["+".join(groups)] = {
            "bias": _rounded(b),
            "scaling": {
                name: _rounded(np.array([lo[j], hi[j], mean[j], scale[j]]))
                for j, name in enumerate(names)
            },
            "weights": {name: _rounded(w[:, j]) for j, name in enumerate(names)},
            "windows": int(x.shape[0]),
            "training_accuracy": round(acc, 4),
        }
    return models


def _rounded(v: np.ndarray) -> tuple[float, ...]:
    return tuple(float(f"{x:.6g}") for x in v)


HEADER = '''"""Stroke classifier parameters, written by benchmarks/train_strokes.py: do not edit.

Multinomial logistic regression per set of signals (see :mod:`analysis.strokes`). Each
model lists its features in column order: ``scaling`` gives ``(lo, hi, mean, scale)``
and ``weights`` the weights for ``(rest, hold, circular, kneading)`` of each feature. A
feature is clipped to ``[lo, hi]`` (its range in training) and standardised,
``z = (clip(x, lo, hi) - mean) / scale``; the score of a stroke is
``bias[stroke] + sum(weights[feature][stroke] * z[feature])``, and the probabilities are
the softmax of the scores. Training seeds are ``range(*training["seed_range"])``.
Regenerate with ``python benchmarks/train_strokes.py``.
"""

from __future__ import annotations

from typing import Any, Final

'''


def _literal(value: Any, indent: int = 0, prefix: int = 0, width: int = 100) -> str:
    """``value`` as Python source laid out as ruff format does (inline when it fits on
    the line after ``prefix`` characters, else one item per line)."""
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = _literal(k) + ": "
            items.append(key + _literal(v, indent + 4, len(key), width))
        opening, closing = "{", "}"
    elif isinstance(value, tuple | list):
        items = [_literal(v, indent + 4, 0, width) for v in value]
        opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
        if isinstance(value, tuple) and len(items) == 1:
            items[0] += ","
    elif isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        return repr(value)
    inline = opening + ", ".join(items) + closing
    if "\n" not in inline and indent + prefix + len(inline) <= width - 1:
        return inline
    pad = " " * (indent + 4)
    return opening + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + closing


def write_model(models: dict[str, Any], path: Path, date: str) -> None:
    model = {
        "version": VERSION,
        "trained": date,
        "strokes": STROKES,
        "scaling": ("lo", "hi", "mean", "scale"),
        "training": {
            "script": "benchmarks/train_strokes.py",
            "seed_range": (TRAIN_SEEDS[0], TRAIN_SEEDS[-1] + 1),
            "duration_s": DURATION_S,
            "rates_hz": RATES_HZ,
            "areas_cm2": AREAS_CM2,
            "channels": (1, 4),
            "accel": True,
            "truth": "majority label over the window's samples",
            "l2": L2,
        },
        "models": models,
    }
    path.write_text(HEADER + "MODEL: Final[dict[str, Any]] = " + _literal(model, 0, 31) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fit and report, do not write")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--date", default=dt.date.today().isoformat())
    args = parser.parse_args()
    began = time.perf_counter()
    streams = collect(training_streams(), args.workers)
    print(f"simulated {len(streams)} sessions in {time.perf_counter() - began:.1f} s")
    models = train(streams)
    if not args.check:
        out = ROOT / "analysis" / "stroke_model.py"
        write_model(models, out, args.date)
        print(f"wrote {out.relative_to(ROOT)}")
    print(f"done in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
