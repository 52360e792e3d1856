"""Clock alignment: drifting device clocks, bursty arrivals, two devices lined up."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.clock import ClockAligner


def _arrivals(
    rng: np.random.Generator, n_packets: int, per_packet: int, rate_hz: float, skew: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packets of samples: (device time of each sample, true session time, arrival time)."""
    true_t = 3.0 + np.arange(n_packets * per_packet) / rate_hz  # session time of sampling
    device_t = 100.0 + (true_t - 3.0) / skew  # device clock off by an offset and a rate
    last = true_t[per_packet - 1 :: per_packet]
    latency = 0.004 + rng.exponential(0.006, n_packets)
    burst = rng.random(n_packets) < 0.1  # one packet in ten delayed by a burst of 20-120 ms
    latency[burst] += rng.uniform(0.02, 0.12, burst.sum())
    return device_t, true_t, np.maximum.accumulate(last + latency)


@pytest.mark.parametrize("skew", [1.0, 1.0 + 300e-6, 1.0 - 2e-3])
def test_maps_device_time_onto_the_session_clock_within_a_sample(skew: float) -> None:
    rng = np.random.default_rng(1)
    rate_hz, per = 80.0, 4
    device_t, true_t, arrival = _arrivals(rng, 1200, per, rate_hz, skew)
    aligner = ClockAligner()
    errors = []
    for k, host in enumerate(arrival):
        rows = slice(k * per, (k + 1) * per)
        aligner.add(device_t[rows][-1], host)
        errors.append(aligner.map(device_t[rows]) - true_t[rows])
    err = np.concatenate(errors)[per * 240 :]  # after the first 12 s
    assert aligner.skew == pytest.approx(skew, abs=2e-4)
    assert err.min() > -1e-3  # mapped times never run ahead of the truth...
    assert err.max() < 1 / rate_hz  # ...and stay within a sample period behind it


def test_two_devices_in_one_session_line_up_within_one_sample_period() -> None:
    rng = np.random.default_rng(7)
    mapped = []
    for skew in (1.0 + 150e-6, 1.0 - 400e-6):
        device_t, _true_t, arrival = _arrivals(rng, 1000, 2, 100.0, skew)
        aligner = ClockAligner()
        out = []
        for k, host in enumerate(arrival):
            aligner.add(device_t[2 * k + 1], host)
            out.append(aligner.map(device_t[2 * k : 2 * k + 2]))
        mapped.append(np.concatenate(out)[400:])  # same true times for both devices
    assert np.abs(mapped[0] - mapped[1]).max() < 1 / 100.0


def test_refuses_bad_input() -> None:
    aligner = ClockAligner()
    with pytest.raises(ValueError, match="add\\(\\) first"):
        aligner.map(np.zeros(2))
    aligner.add(5.0, 1.0)
    with pytest.raises(ValueError, match="went back"):
        aligner.add(4.0, 1.1)
    with pytest.raises(ValueError, match="finite"):
        aligner.add(float("nan"), 1.2)
    aligner.reset()
    assert not aligner.ready
    with pytest.raises(ValueError, match="window_s > min_span_s"):
        ClockAligner(window_s=1.0, min_span_s=2.0)
