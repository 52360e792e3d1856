"""phyphox remote access: the JSON decoders, fuzzing, and the driver against a real HTTP
server on loopback that serves recorded phone data the way the app does."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stream import EventKind
from firmware_bridge.devices.phyphox import (
    ACC,
    LIN,
    PhyphoxSource,
    decode_config,
    decode_get,
    get_path,
    parse_host,
)
from firmware_bridge.errors import DecodeError, DeviceNotFound
from sessions.csv_io import read_csv


def _answer(t: list[Any], x: list[Any], names: Any = ACC) -> bytes:
    buf = {names.time: {"buffer": t}}
    for name in names.values:
        buf[name] = {"buffer": x}
    return json.dumps({"buffer": buf, "status": {"measuring": True}}).encode()


def test_get_path_asks_for_samples_newer_than_t() -> None:
    assert get_path(ACC, 1.5) == (
        "/get?acc_time=1.5&accX=1.5%7Cacc_time&accY=1.5%7Cacc_time&accZ=1.5%7Cacc_time"
    )
    assert get_path(LIN, None) == "/get?lin_time"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("192.168.1.20", ("192.168.1.20", 8080)),
        ("http://10.0.0.2:8081/", ("10.0.0.2", 8081)),
        ("phone.local:80", ("phone.local", 80)),
    ],
)
def test_parse_host(spec: str, expected: tuple[str, int]) -> None:
    assert parse_host(spec) == expected


def test_parse_host_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="HOST\\[:PORT\\]"):
        parse_host("host:99999")


def test_decode_drops_missing_values_and_repeated_times() -> None:
    t, xyz = decode_get(_answer([0.01, 0.02, 0.02, None, 0.04], [1, 2, 3, 4, None]), ACC)
    assert t.tolist() == [0.01, 0.02] and xyz.shape == (2, 3)


def test_config_names_the_experiment_or_says_what_to_start() -> None:
    config = {
        "title": "Linear Acceleration",
        "buffers": [{"name": n} for n in ("linX", "linY", "linZ", "lin_time")],
    }
    assert decode_config(json.dumps(config).encode()) == ("Linear Acceleration", LIN)
    with pytest.raises(DecodeError, match="start 'Acceleration with g'"):
        decode_config(b'{"title": "Magnetometer", "buffers": [{"name": "magX"}]}')
    # a buffer whose name is not a string (a list, an object) is skipped, not a crash
    with pytest.raises(DecodeError, match="no accelerometer buffers"):
        decode_config(b'{"buffers": [{"name": []}, {"name": {}}, {"name": "accX"}]}')


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(payload: bytes) -> None:
    try:
        t, xyz = decode_get(payload, ACC)
    except DecodeError:
        return
    assert t.ndim == 1 and xyz.shape == (t.size, 3)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.floats(allow_nan=True), st.none(), st.text(max_size=2)), max_size=8),
    st.lists(st.one_of(st.floats(allow_nan=True), st.none()), max_size=8),
    json_values,
)
def test_fuzz_mutated_answers(t: list[Any], x: list[Any], junk: Any) -> None:
    for payload in (
        _answer(t, x),
        json.dumps({"buffer": junk}).encode(),
        json.dumps(junk).encode(),
    ):
        try:
            times, xyz = decode_get(payload, ACC)
        except DecodeError:
            continue
        assert xyz.shape == (times.size, 3) and np.isfinite(xyz).all()
        assert np.all(np.diff(times) > 0)


def test_streams_a_real_phyphox_recording_over_http(shared_file: Any, collect: Any) -> None:
    recording = read_csv(shared_file("phyphox_linacc_jumping_57s.csv"))
    t, xyz = recording.frame.t, recording.frame.x.astype(np.float64)
    source = PhyphoxSource(virtual={"t": t, "xyz": xyz, "linear": True})
    frames, events = collect(source, 1.2)
    server = source.server
    assert server is not None
    assert server.requests[:3] == ["/config", "/get?lin_time", "/control?cmd=start"]
    assert source.info.rate_hz == pytest.approx(100.0, rel=0.05)
    assert source.info.meta["gravity"].startswith("removed")
    got = np.concatenate([f.x for f in frames])
    np.testing.assert_allclose(got, xyz[: got.shape[0]].astype(np.float32))  # every sample, once
    index = np.concatenate([f.index + np.arange(f.n) for f in frames])
    np.testing.assert_array_equal(index, np.arange(index.size))
    assert events == []


def test_a_phone_that_stops_answering_loses_no_sample(collect: Any) -> None:
    source = PhyphoxSource(virtual={"seed": 2, "fail_at_s": 1.0, "fail_s": 0.8})
    frames, events = collect(source, 3.0)
    assert [e.kind for e in events] == [EventKind.RECONNECT]
    assert events[0].data["down_s"] >= 0.5
    index = np.concatenate([f.index + np.arange(f.n) for f in frames])
    np.testing.assert_array_equal(index, np.arange(index.size))  # the phone kept them all
    t = np.concatenate([f.t for f in frames])
    assert np.diff(t).max() < 0.05


def test_nobody_at_the_address_is_one_clear_error(collect: Any) -> None:
    source = PhyphoxSource("127.0.0.1:9", timeout_s=1.0)
    with pytest.raises(DeviceNotFound, match="remote access"):
        collect(source, 1.0)
