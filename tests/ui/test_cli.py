"""The palpate command line, run as a person runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def palpate(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_help_explains_every_command_with_units() -> None:
    out = palpate("--help")
    assert out.returncode == 0
    for command in ("demo", "live", "analyze", "devices"):
        assert command in out.stdout
    analyze = palpate("analyze", "--help").stdout
    for needle in ("--area-cm2", "cm²", "--ramp-limit", "kPa/s", "--json", "--tool", "thumb"):
        assert needle in analyze
    demo = palpate("demo", "--help").stdout
    assert "--seconds" in demo and "--headless" in demo and "Hz" in demo


def test_demo_streams_the_simulator_in_the_terminal() -> None:
    out = palpate("demo", "--seconds", "1.5", "--headless", "--seed", "3")
    assert out.returncode == 0, out.stderr
    status = [line for line in out.stdout.splitlines() if line.startswith("t=")]
    assert status, out.stdout
    last = status[-1]
    for needle in ("pressure=", "kPa", "rate=", "level=", "stroke=", "rate_hz=", "age="):
        assert needle in last
    assert "summary:" in out.stdout
    assert out.stderr == ""


def test_demo_without_a_display_has_no_qt_noise() -> None:
    out = palpate("demo", "--seconds", "0.5", "--channels", "4", "--rate-hz", "200")
    assert out.returncode == 0, out.stderr
    assert "qt." not in out.stderr.lower() and "display" not in out.stderr.lower()


def test_analyze_simulated_recording_json(tmp_path: Path) -> None:
    from firmware_bridge.devices.simulator import simulate
    from sessions.csv_io import write_csv

    info, frame = simulate(5, duration_s=30.0, rate_hz=100.0)
    path = tmp_path / "sim.csv"
    write_csv(path, info, frame)
    out = palpate("analyze", str(path), "--json", "--tool", "thumb")
    assert out.returncode == 0, out.stderr
    rows = json_lines(out.stdout)
    windows = [r for r in rows if r["type"] == "window"]
    assert rows[-1]["type"] == "summary"
    assert len(windows) == pytest.approx((30.0 - 2.0) / 0.25 + 1, abs=1)
    for w in windows:
        assert set(w) == {"type", "start", "end", "stroke", "confidence"}
        assert w["stroke"] in {"rest", "hold", "circular", "kneading"}
        assert 0 <= w["confidence"] <= 1 and w["end"] - w["start"] == pytest.approx(2.0)
    starts = np.array([w["start"] for w in windows])
    assert np.allclose(np.diff(starts), 0.25)
    for r in rows:
        if r["type"] == "warning":
            assert r["kind"] in {"ramp", "ceiling"}
            assert r["end"] is None or r["end"] >= r["start"]
    summary = rows[-1]
    assert summary["duration_s"] == pytest.approx(30.0, abs=0.05)
    assert summary["rate_hz"] == pytest.approx(100.0, rel=1e-3)
    assert sum(summary["stroke_s"].values()) == pytest.approx(len(windows) * 0.25)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared recordings not present")
@pytest.mark.parametrize(
    "name",
    [
        "tindeq_app_rfd_test.csv",
        "tindeq_app_endurance_10s.csv",
        "tindeq_app_rotint_7s_set1.csv",
        "phyphox_linacc_jumping_57s.csv",
    ],
)
def test_analyze_real_recordings(name: str) -> None:
    out = palpate("analyze", str(SHARED / name), "--json")
    assert out.returncode == 0, out.stderr
    rows = json_lines(out.stdout)
    assert rows[-1]["type"] == "summary"
    assert any(r["type"] == "window" for r in rows)
    text = palpate("analyze", str(SHARED / name))
    assert text.returncode == 0 and "summary" in text.stdout


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared recordings not present")
def test_the_fast_pull_in_the_rfd_test_warns() -> None:
    out = palpate("analyze", str(SHARED / "tindeq_app_rfd_test.csv"), "--json", "--area-cm2", "4")
    rows = json_lines(out.stdout)
    ramps = [r for r in rows if r["type"] == "warning" and r["kind"] == "ramp"]
    assert len(ramps) >= 1 and ramps[0]["peak_rate_kpa_s"] > 50
    steady = palpate("analyze", str(SHARED / "tindeq_app_endurance_10s.csv"), "--json")
    summary = json_lines(steady.stdout)[-1]
    assert summary["peak_kpa"] == pytest.approx(9.36 * 9.80665 * 5, rel=0.05)


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    missing = palpate("analyze", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "nope.csv" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("time (s),force (lb)\n0.0,1\n")
    out = palpate("analyze", str(bad))
    assert out.returncode == 1 and "lb" in out.stderr and "Traceback" not in out.stderr
    usage = palpate("analyze", str(bad), "--area-cm2", "-3")
    assert usage.returncode == 2 and "positive" in usage.stderr
    both = palpate("analyze", str(bad), "--area-cm2", "3", "--tool", "thumb")
    assert both.returncode == 2
    tool = palpate("analyze", str(bad), "--tool", "hammer")
    assert tool.returncode == 2 and "thumb" in tool.stderr


def test_unknown_device_is_refused_clearly() -> None:
    out = palpate("live", "--device", "nonesuch", "--seconds", "1")
    assert out.returncode == 1 and "sim" in out.stderr and "Traceback" not in out.stderr


def test_devices_lists_the_simulator() -> None:
    out = palpate("devices")
    assert out.returncode == 0 and out.stdout.startswith("sim")


def test_a_recording_cut_off_by_a_crash_can_still_be_read(tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv"
    cut.write_text(
        "time (s),force (N)\n" + "".join(f"{i / 100},{i}\n" for i in range(300)) + "3.0,"
    )
    refused = palpate("analyze", str(cut))
    assert refused.returncode == 1 and "--allow-truncated" in refused.stderr
    kept = palpate("analyze", str(cut), "--allow-truncated", "--json")
    assert kept.returncode == 0, kept.stderr
    assert json_lines(kept.stdout)[-1]["samples"] == 300


def test_a_folder_is_not_a_recording(tmp_path: Path) -> None:
    out = palpate("analyze", str(tmp_path))
    assert out.returncode == 1 and "cannot read" in out.stderr and "Traceback" not in out.stderr


def test_the_simulated_pad_presses_with_the_chosen_tool() -> None:
    from ui.cli import _source_options, build_parser

    args = build_parser().parse_args(["live", "--device", "sim", "--tool", "palm"])
    assert _source_options(args, "sim")["area_cm2"] == 25.0
    demo = build_parser().parse_args(["demo", "--area-cm2", "3", "--rate-hz", "200"])
    options = _source_options(demo, "sim")
    assert options["area_cm2"] == 3.0 and options["rate_hz"] == 200.0
