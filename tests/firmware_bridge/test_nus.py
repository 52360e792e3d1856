"""Nordic UART text devices: line formats, reassembly, fuzzing, settings, and the driver
against a virtual UART board (including the real ESP32 FSR recordings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.calibration import DeviceCalibration, LinearCalibration
from analysis.stream import G_STANDARD
from firmware_bridge.devices.nus import LineFormat, NusSource, parse_line, split_lines
from firmware_bridge.errors import DecodeError
from firmware_bridge.virtual.peer import ArraySignal


def test_lines_are_reassembled_across_any_cut() -> None:
    text = b"1,10\r\n2,20\n3,30\r4,40\n"
    fmt = LineFormat.parse("t_ms,raw")
    for cut in range(1, len(text)):
        first, rest = split_lines(text[:cut])
        second, tail = split_lines(rest + text[cut:])
        rows = [parse_line(line, fmt).tolist() for line in first + second]
        assert rows == [[1, 10], [2, 20], [3, 30], [4, 40]] and tail == b""


@pytest.mark.parametrize(
    ("fmt", "line", "expected"),
    [
        ("t_ms,raw1,raw2", b"10;  512\t-3.5", [10, 512, -3.5]),
        ("raw", b"  1e3 ", [1000]),
        ("Received value: {raw}", b"Received value: 2706", [2706]),
        ("t={t_ms} F={force} N", b"t=20 F=-1.25 N", [20, -1.25]),
    ],
)
def test_formats_parse(fmt: str, line: bytes, expected: list[float]) -> None:
    assert parse_line(line, LineFormat.parse(fmt)).tolist() == expected


@pytest.mark.parametrize(
    ("fmt", "line", "reason"),
    [
        ("t_ms,raw", b"10", "1 fields, the format has 2"),
        ("t_ms,raw", b"10,abc", "not a number"),
        ("t_ms,raw", b"10,nan", "not a finite"),
        ("Received value: {raw}", b"Sent value: 3", "does not match"),
        ("raw", b"1" * 300, "longer than"),
    ],
)
def test_bad_lines_raise_decode_error(fmt: str, line: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        parse_line(line, LineFormat.parse(fmt))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "field names"),
        ("t_ms,t_s,raw", "more than one time"),
        ("a,a", "repeats"),
        ("t_ms", "no value field"),
        ("raw-1", "field names"),
    ],
)
def test_bad_formats_are_refused(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LineFormat.parse(text)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(["t_ms,raw1,raw2", "Received value: {raw}"]))
def test_fuzz_lines_only_raise_decode_error(data: bytes, fmt_text: str) -> None:
    fmt = LineFormat.parse(fmt_text)
    lines, rest = split_lines(data)
    assert b"\n" not in rest and b"\r" not in rest
    for line in lines:
        try:
            values = parse_line(line, fmt)
        except DecodeError:
            continue
        assert values.shape == (len(fmt.fields),) and np.isfinite(values).all()


def test_streams_timestamped_lines_in_kg_as_newtons(collect: Any) -> None:
    values = np.arange(3000) * 0.01
    peer = {"signal": ArraySignal(values, 50.0), "line_format": "t_ms,load"}
    source = NusSource(virtual=peer, line_format="t_ms,load", unit="kg", rate_hz=50)
    frames = collect(source, 1.2)[0]
    assert source.info.channels[0].unit == "N" and source.info.channels[0].kind == "force"
    x = np.concatenate([f.x[:, 0] for f in frames]) / G_STANDARD
    k = np.round(x / 0.01).astype(int)
    np.testing.assert_array_equal(np.diff(k), 1)  # lines cut into 20-byte pieces, all back
    index = np.concatenate([f.index + np.arange(f.n) for f in frames])
    np.testing.assert_array_equal(index - k, index[0] - k[0])


def test_calibration_and_format_come_from_the_settings_file(tmp_path: Path, collect: Any) -> None:
    cal = DeviceCalibration("board", (LinearCalibration(0.5, -10.0),), 0.0)
    config = Path(str(tmp_path / "config"))
    config.mkdir(exist_ok=True)
    channels = cal.to_dict()["channels"][0]
    inline = ", ".join(
        f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"' for k, v in channels.items()
    )
    (config / "settings.toml").write_text(
        '[nus]\nline_format = "t_ms,raw"\nrate_hz = 50\n'
        '[nus.calibration]\nversion = 1\ndevice_id = "board"\ncreated_unix = 0.0\nnotes = ""\n'
        f"channels = [{{ {inline} }}]\n"
    )
    raw = np.arange(100, 3100, dtype=np.float64)
    source = NusSource(virtual={"signal": ArraySignal(raw, 50.0)})
    frames = collect(source, 1.0)[0]
    assert source.info.channels[0].unit == "N"
    got = np.concatenate([f.x[:, 0] for f in frames]).astype(np.float64)
    expected = cal.apply(raw[:, None])[:, 0]  # every line's raw value through the calibration
    step = expected[1] - expected[0]
    assert np.isin(np.round(got, 3), np.round(expected, 3)).all()
    np.testing.assert_allclose(np.diff(got), step, rtol=1e-4)


def test_replays_the_esp32_fsr_recording_line_for_line(shared_file: Any, collect: Any) -> None:
    path = shared_file("fsr402_press_hold_release_480_520g.txt")
    raw = [float(v) for v in re.findall(r"Received value: (\d+)", path.read_text())]
    peer = {
        "signal": ArraySignal(np.array(raw), 10.0),
        "line_format": "Received value: {raw}",
        "decimals": 0,
    }
    source = NusSource(virtual=peer, line_format="Received value: {raw}", rate_hz=10)
    frames = collect(source, 1.2)[0]
    got = np.concatenate([f.x[:, 0] for f in frames])
    assert source.info.channels[0].kind == "raw"
    np.testing.assert_array_equal(got, np.array(raw[: got.size], np.float32))


def test_garbled_text_is_dropped_not_misread(collect: Any) -> None:
    values = np.arange(3000) * 1.0
    peer = {"signal": ArraySignal(values, 50.0), "faults": {"malformed_every": 7, "seed": 2}}
    source = NusSource(virtual=peer, rate_hz=50)
    frames = collect(source, 1.2)[0]
    got = np.concatenate([f.x[:, 0] for f in frames])
    index = np.concatenate([f.index + np.arange(f.n) for f in frames])
    assert source.link.bad_packets > 0
    assert np.all(got == np.round(got)) and np.all(np.diff(got) > 0)
    np.testing.assert_array_equal(index - got.astype(int), index[0] - int(got[0]))
