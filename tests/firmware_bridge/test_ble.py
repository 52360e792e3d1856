"""The BLE base's small parts: recognising devices, addresses, and 32-bit device counters."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.ble import BleProfile, Unwrap32, is_address
from firmware_bridge.devices.tindeq import TindeqSource, encode_weights


def test_profiles_match_by_service_or_name_prefix() -> None:
    profile = BleProfile("x", "X", "181d", ("Progressor",))
    assert profile.matches(None, ["0000181D-0000-1000-8000-00805F9B34FB"])
    assert profile.matches("progressor_12", [])
    assert not profile.matches("Prog", ["180d"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("AA:BB:CC:DD:EE:FF", True), ("aa:bb:cc:dd:ee:0f", True),
     ("12345678-1234-1234-1234-123456789ABC", True), ("Progressor", False),
     ("AA:BB:CC:DD:EE", False)],
)  # fmt: skip
def test_addresses_are_told_from_names(text: str, expected: bool) -> None:
    assert is_address(text) is expected


def test_counters_run_on_past_the_wrap_and_restart_continuously() -> None:
    u = Unwrap32()
    values = [u(v) for v in (2**32 - 2, 2**32 - 1, 0, 1, 2**30)]
    assert values == [2**32 - 2, 2**32 - 1, 2**32, 2**32 + 1, 2**32 + 2**30]
    assert u(2**30 - 3) == 2**32 + 2**30 - 3  # a late value steps back, not forward
    assert u(2**31 + 2**30) == 2**32 + 2**30 - 2**31  # half the range away: taken as back
    u.restart()
    assert u(7) == 2**32 + 2**30 - 2**31 + 7  # a restarted device continues where it was


def test_the_progressor_clock_runs_on_past_71_minutes() -> None:
    source = TindeqSource()
    near = 2**32 - 25_000
    first = source._unpack(encode_weights([1.0, 1.0], [near, near + 12_500]))
    second = source._unpack(encode_weights([1.0, 1.0], [near + 25_000, near + 37_500]))
    assert first is not None and second is not None
    t = np.concatenate([first.device_t, second.device_t])  # type: ignore[list-item]
    np.testing.assert_allclose(np.diff(t), 0.0125)
    assert t[-1] > 2**32 * 1e-6
