"""The session commands, run as a person runs them: record, sessions, info, export,
analyze and replay of a .palpate file, and bad files told in one line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sessions.csv_io import read_csv
from sessions.store import SessionFile

ROOT = Path(__file__).resolve().parents[2]


def palpate(*args: str, data_dir: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PALPATE_DATA_DIR": str(data_dir)}
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``palpate record --device sim --seconds 4`` into the default folder."""
    data = tmp_path_factory.mktemp("data")
    out = palpate(
        "record", "--device", "sim", "--seconds", "4", "--seed", "9", "--channels", "4",
        "--headless", data_dir=data,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (path,) = (data / "sessions").glob("*.palpate")
    assert f"recording into {path}" in out.stdout
    assert f"saved {path}: 4.0 s, 400 samples" in out.stdout
    return data, path


def test_record_writes_an_owner_only_session(recorded: tuple[Path, Path]) -> None:
    data, path = recorded
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "sessions").stat().st_mode) == 0o700
    with SessionFile.open(path) as f:
        assert not f.interrupted
        assert f.streams[0].samples == 400 and f.streams[0].info.n_channels == 4


def test_sessions_lists_and_summarises(recorded: tuple[Path, Path]) -> None:
    data, path = recorded
    out = palpate("sessions", data_dir=data)
    assert out.returncode == 0, out.stderr
    assert path.name in out.stdout and "palpate simulator (seed 9)" in out.stdout
    assert "0:04.0" in out.stdout
    rows = [
        json.loads(x) for x in palpate("sessions", "--json", data_dir=data).stdout.split("\n") if x
    ]
    assert rows[0]["file"] == str(path) and rows[0]["duration_s"] == pytest.approx(4.0)
    summary = palpate("sessions", "--summary", "--by", "day", "--json", data_dir=data)
    (day,) = [json.loads(x) for x in summary.stdout.splitlines()]
    assert day["sessions"] == 1 and day["total_s"] == pytest.approx(4.0)
    text = palpate("sessions", "--summary", data_dir=data).stdout
    assert "history per week" in text and "current streak: 1 day" in text


def test_sessions_info_json_has_the_contract_fields(recorded: tuple[Path, Path]) -> None:
    data, path = recorded
    out = palpate("sessions", "info", str(path), "--json", data_dir=data)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    for key in ("started_at_unix", "duration_s", "streams", "gaps", "events", "summary"):
        assert key in info
    (stream,) = info["streams"]
    assert {"name", "device", "samples", "rate_hz"} <= set(stream)
    assert stream["samples"] == 400 and stream["rate_hz"] == pytest.approx(100.0)
    assert info["gaps"] == [] and info["summary"]["samples"] == 400
    text = palpate("sessions", "info", str(path), data_dir=data).stdout
    assert "400 samples at 100.0 Hz" in text


def test_export_round_trips_through_csv_import(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    data, path = recorded
    out = palpate("export", str(path), "--csv", str(tmp_path / "s.csv"), data_dir=data)
    assert out.returncode == 0, out.stderr
    back = read_csv(tmp_path / "s.csv")
    with SessionFile.open(path) as f:
        frame = f.read()
    np.testing.assert_array_equal(back.frame.t, frame.t)
    np.testing.assert_array_equal(back.frame.x, frame.x)
    assert [c.name for c in back.info.channels] == ["force1", "force2", "force3", "force4"]


def test_analyze_and_replay_json_are_the_same_lines(recorded: tuple[Path, Path]) -> None:
    data, path = recorded
    analyzed = palpate("analyze", str(path), "--json", data_dir=data)
    replayed = palpate("replay", str(path), "--headless", "--json", data_dir=data)
    assert analyzed.returncode == 0 and replayed.returncode == 0, analyzed.stderr + replayed.stderr
    assert analyzed.stdout == replayed.stdout
    lines = [json.loads(x) for x in analyzed.stdout.splitlines()]
    assert lines[-1]["type"] == "summary" and lines[-1]["input"]["format"] == "palpate"
    assert any(x["type"] == "window" for x in lines)


def test_replay_in_the_terminal(recorded: tuple[Path, Path]) -> None:
    data, path = recorded
    out = palpate("replay", str(path), "--speed", "4", "--from", "1", "--headless", data_dir=data)
    assert out.returncode == 0, out.stderr
    assert "replaying" in out.stdout and "at 4x speed" in out.stdout
    assert "summary:" in out.stdout and out.stdout.count("t=") >= 1


def test_ctrl_c_stops_a_terminal_replay_and_prints_the_summary(
    recorded: tuple[Path, Path], ctrl_c: Callable[..., tuple[int, str, str]]
) -> None:
    data, path = recorded
    env = {"PALPATE_DATA_DIR": str(data)}
    code, out, err = ctrl_c("replay", str(path), "--speed", "1", "--headless", after=1, env=env)
    assert code == 0, err
    assert "summary:" in out.split("stopped", 1)[1], out
    assert "Traceback" not in err


def test_bad_files_and_arguments_are_one_line(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    data, path = recorded
    csv = tmp_path / "x.csv"
    csv.write_text("time (s),force (N)\n0,1\n")
    cut = tmp_path / "cut.palpate"
    cut.write_bytes(path.read_bytes()[:9000])
    cases = [
        (("sessions", "info", str(csv)), 1, "not a palpate session"),
        (("sessions", "info", str(cut)), 1, "truncated"),
        (("replay", str(cut), "--headless"), 1, "truncated"),
        (
            ("export", str(tmp_path / "none.palpate"), "--csv", str(tmp_path / "o.csv")),
            1,
            "no such file",
        ),
        (("replay", str(path), "--speed", "40"), 2, "0.25-16x"),
        (("replay", str(path), "--marker", "nope", "--headless"), 2, "no marker labelled"),
    ]
    for args, code, needle in cases:
        out = palpate(*args, data_dir=data)
        assert out.returncode == code, (args, out.stderr)
        assert needle in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    listing = palpate("sessions", "--dir", str(tmp_path), data_dir=data)
    assert listing.returncode == 0 and "(unreadable)" in listing.stdout


def test_export_writes_one_csv_per_stream(tmp_path: Path) -> None:
    from analysis.stream import Channel, Frame, StreamInfo
    from sessions.store import SessionWriter

    path = tmp_path / "two.palpate"
    pad = StreamInfo("pad", "open pad", 100.0, (Channel("force", "N", "force"),))
    acc = tuple(Channel(f"acc {a}", "m/s^2", "accel") for a in "xyz")
    phone = StreamInfo("phone", "phone", 50.0, acc)
    writer = SessionWriter.create(path, started_at_unix=0.0)
    writer.add_stream("pad", pad)
    writer.add_stream("phone", phone)
    writer.add_frame("pad", Frame.from_arrays(np.arange(100) / 100.0, np.linspace(0, 9, 100)))
    writer.add_frame("phone", Frame.from_arrays(np.arange(50) / 50.0, np.ones((50, 3))))
    writer.close()
    out = palpate("export", str(path), "--csv", str(tmp_path / "o.csv"), data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert read_csv(tmp_path / "o_pad.csv").frame.n == 100
    phone_back = read_csv(tmp_path / "o_phone.csv")
    assert [c.name for c in phone_back.info.channels] == ["acc x", "acc y", "acc z"]
