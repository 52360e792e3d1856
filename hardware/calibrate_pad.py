"""Calibrate a palpate pad: record a weight staircase, fit each FSR channel, write calibration.json.

The procedure of ``hardware/README.md`` (section 7). The pad must send raw ADC counts
(no ``calibration.json`` on it yet). For each known weight the tool asks you to put it
on the puck, records a few seconds, and keeps the median reading of each channel after
a settling second. It then fits ``F = a × G^b`` per channel with
``analysis.calibration.fit_power_law`` (conductance ``G`` from the pad's divider, the
contact threshold from the unloaded step's noise), prints the fit report and writes a
``DeviceCalibration`` as JSON, ready for ``mpremote cp calibration.json :``.

Usage::

    python hardware/calibrate_pad.py --device pad --weights-kg 0,0.25,0.5,1,2,4,8,12 \\
        --out calibration.json
    python hardware/calibrate_pad.py --device pad --weights-kg 0,0.5,1,2,4 --channel 3 \\
        --out calibration.json      # refine one channel (weights on that FSR's foot only)

Exit status: 0 done, 1 a problem with the pad or the data (one line says which), 2 bad
arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analysis.calibration import (
    DeviceCalibration,
    FitReport,
    FsrDivider,
    contact_conductance_from_rest,
    fit_power_law,
)
from analysis.stream import G_STANDARD, Frame
from firmware_bridge.errors import BridgeError
from firmware_bridge.registry import open_source
from firmware_bridge.source import Source

__all__ = ["CalibrationProblem", "fit_channels", "main", "record_staircase"]

Ask = Callable[[float], Awaitable[None]]


class CalibrationProblem(Exception):
    """The pad or the recorded data cannot give a calibration (the message says why)."""


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def record_staircase(
    source: Source, weights_kg: Sequence[float], ask: Ask, *, seconds: float, settle_s: float
) -> tuple[list[NDArray[np.float64]], int]:
    """Record each weight of the staircase from an open source of raw counts.

    Parameters
    ----------
    source : Source
        An open pad source sending raw counts (channels of unit ``adc``).
    weights_kg : sequence of float
        The staircase, kilograms, starting at 0.
    ask : async callable
        ``await ask(weight_kg)`` returns once the weight is on the puck.
    seconds, settle_s : float
        Recording time per step, and the part of it skipped while the FSR settles.

    Returns
    -------
    steps : list of ndarray, each shape (n, n_force), counts
        The readings of each step after it settled.
    n_force : int
    """
    info = source.info
    force = [i for i, c in enumerate(info.channels) if c.kind in ("raw", "force")]
    if not force or any(info.channels[i].unit != "adc" for i in force):
        raise CalibrationProblem(
            "the pad sends newtons: it already has a calibration. Remove it first "
            "(mpremote rm :calibration.json; mpremote reset) and run this again"
        )
    frames: list[Frame] = []
    done = asyncio.Event()

    async def collect() -> None:
        async for frame in source.frames():
            frames.append(frame)
            if done.is_set():
                break

    task = asyncio.get_running_loop().create_task(collect())
    steps = []
    try:
        for weight in weights_kg:
            await ask(weight)
            first = len(frames)
            started = time.monotonic()
            await asyncio.sleep(seconds)
            if task.done():
                task.result()  # the source failed: say why
                raise CalibrationProblem("the pad stopped sending during the staircase")
            got = frames[first:]
            if not got:
                raise CalibrationProblem(f"no data from the pad during the {weight:g} kg step")
            t = np.concatenate([f.t for f in got])
            x = np.concatenate([f.x[:, force] for f in got]).astype(np.float64)
            keep = t >= t[0] + settle_s
            if keep.sum() < 10:
                raise CalibrationProblem(
                    f"only {int(keep.sum())} samples after settling in the {weight:g} kg step "
                    f"({time.monotonic() - started:.1f} s); record longer (--seconds)"
                )
            steps.append(x[keep])
    finally:
        # end at the next frame instead of cancelling the reader mid-packet (on Python 3.11
        # a cancellation racing asyncio.wait_for inside the frame loop can be lost)
        done.set()
        await asyncio.wait({task}, timeout=2.0)
        if not task.done():
            task.cancel()
    return steps, len(force)


def fit_channels(
    steps: Sequence[NDArray[np.float64]],
    weights_kg: Sequence[float],
    divider: FsrDivider,
    *,
    channel: int | None = None,
    existing: DeviceCalibration | None = None,
    device_id: str = "palpate pad",
    created_unix: float | None = None,
) -> tuple[DeviceCalibration, list[tuple[int, FitReport]]]:
    """Fit the power law of every channel (``channel=None``: the weight shared equally)
    or of one channel (0-based; the whole weight on it, the others kept from ``existing``).

    Returns the calibration and the fit report of each channel fitted.
    """
    n_force = steps[0].shape[1]
    if weights_kg[0] != 0:
        raise CalibrationProblem("the staircase must start at 0 kg (nothing on the puck)")
    if any(b <= a for a, b in itertools.pairwise(weights_kg)):
        raise CalibrationProblem("load the weights in increasing order (the loading branch)")
    medians = np.array([np.median(s, axis=0) for s in steps])  # (steps, n_force) counts
    rest = steps[0]
    fitted = list(range(n_force)) if channel is None else [channel]
    share = 1.0 / n_force if channel is None else 1.0
    force_n = np.asarray(weights_kg, np.float64) * G_STANDARD * share
    channels: list[Any] = list(existing.channels) if existing is not None else [None] * n_force
    if len(channels) != n_force:
        raise CalibrationProblem(
            f"the existing calibration has {len(channels)} channels, the pad {n_force}"
        )
    reports = []
    for ch in fitted:
        contact = contact_conductance_from_rest(rest[:, ch], divider)
        try:
            cal, report = fit_power_law(
                medians[:, ch], force_n, divider, contact_conductance_us=contact
            )
        except ValueError as err:
            raise CalibrationProblem(f"channel {ch + 1}: {err}") from err
        channels[ch] = cal
        reports.append((ch, report))
    if any(c is None for c in channels):
        raise CalibrationProblem("calibrate all channels first (without --channel)")
    notes = (
        "staircase "
        + ",".join(f"{w:g}" for w in weights_kg)
        + " kg; "
        + "; ".join(f"ch{ch + 1} rms {r.rmse_pct_full_scale:.1f}% fs" for ch, r in reports)
    )
    device = DeviceCalibration(
        device_id, tuple(channels), created_unix=created_unix or time.time(), notes=notes
    )
    return device, reports


def _parse_weights(text: str) -> list[float]:
    try:
        weights = [float(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of kilograms: {text!r}") from None
    if len(weights) < 4 or len(weights) > 12:
        raise argparse.ArgumentTypeError("give 5-8 weights (4-12 accepted), starting with 0")
    return weights


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="calibrate_pad", description=__doc__.split("\n")[0] if __doc__ else None
    )
    p.add_argument("--device", default="pad", help="device spec as for palpate live (pad[:NAME])")
    p.add_argument(
        "--weights-kg",
        type=_parse_weights,
        required=True,
        help="comma-separated staircase in kg, starting with 0",
    )
    p.add_argument(
        "--channel",
        type=int,
        default=None,
        help="calibrate only this channel (1-based), weights on its foot",
    )
    p.add_argument("--seconds", type=float, default=4.0, help="recording time per weight")
    p.add_argument("--settle-s", type=float, default=1.0, help="skipped start of each step")
    p.add_argument("--r-fixed-ohm", type=float, default=3300.0, help="divider resistor, ohms")
    p.add_argument("--adc-max", type=float, default=4095.0, help="largest ADC reading")
    p.add_argument("--out", type=Path, default=Path("calibration.json"))
    return p


async def _ask_person(weight_kg: float) -> None:
    prompt = (
        "Leave the puck empty" if weight_kg == 0 else f"Put {weight_kg:g} kg centred on the puck"
    )
    await asyncio.get_running_loop().run_in_executor(
        None, input, f"{prompt}, let go, then press Enter and keep still... "
    )


async def calibrate(
    spec: str, args: argparse.Namespace, ask: Ask = _ask_person, **options: Any
) -> DeviceCalibration:
    """Open the pad, record the staircase, fit, write ``args.out``; returns the calibration."""
    existing = None
    if args.channel is not None:
        if not args.out.exists():
            raise CalibrationProblem(
                f"--channel refines {args.out}, which does not exist yet: run once without it"
            )
        existing = DeviceCalibration.from_dict(json.loads(args.out.read_text()))
    divider = FsrDivider(args.r_fixed_ohm, args.adc_max, fsr_on_high_side=True)
    source = open_source(spec, **options)
    async with source:
        steps, n_force = await record_staircase(
            source, args.weights_kg, ask, seconds=args.seconds, settle_s=args.settle_s
        )
        serial = str(source.info.meta.get("serial") or source.info.device)
    channel = None if args.channel is None else args.channel - 1
    if channel is not None and not 0 <= channel < n_force:
        raise CalibrationProblem(f"--channel {args.channel}: the pad has channels 1-{n_force}")
    device, reports = fit_channels(
        steps, args.weights_kg, divider, channel=channel, existing=existing, device_id=serial
    )
    for ch, r in reports:
        cal: Any = device.channels[ch]
        _say(
            f"channel {ch + 1}: F = {cal.a:.4g} * G^{cal.b:.3f} above "
            f"{cal.contact_conductance_us:.1f} µS; error rms {r.rmse_n:.2f} N "
            f"({r.rmse_pct_full_scale:.1f} % of {r.full_scale_n:.1f} N), max {r.max_error_n:.2f} N"
        )
    args.out.write_text(json.dumps(device.to_dict(), indent=1) + "\n")
    _say(f"wrote {args.out}; store it on the pad with:")
    _say(f"  mpremote cp {args.out} :calibration.json && mpremote reset")
    return device


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(calibrate(args.device, args))
    except (CalibrationProblem, BridgeError, ValueError, OSError) as err:
        sys.stderr.write(f"calibrate_pad: {err}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("calibrate_pad: stopped; nothing written\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
