"""The palpate command line, run as a person runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from analysis.warning_level import WarningConfig
from sessions.store import SessionFile
from sessions.thresholds import load_thresholds, save_thresholds, thresholds_path

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


def test_ctrl_c_stops_the_terminal_demo_and_prints_the_summary(
    ctrl_c: Callable[..., tuple[int, str, str]],
) -> None:
    code, out, err = ctrl_c("demo", "--headless", "--seed", "3")
    assert code == 0, err
    assert "summary:" in out.split("stopped", 1)[1], out
    assert "Traceback" not in err


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


def test_analyze_json_stays_strict_json_with_missing_and_absurd_values(tmp_path: Path) -> None:
    # a file with NaN, inf and out-of-range cells: told in a note, analysed as missing or
    # as spikes, and every line still parses as strict JSON (no NaN), with no numpy noise
    t = np.arange(2000) / 100.0
    force = np.where((t > 5.0) & (t < 15.0), 10.0, 0.2)
    cells = [[f"{a:.2f}", f"{b:.2f}"] for a, b in zip(t, force, strict=True)]
    for row, cell in ((1200, "3e38"), (1300, "inf"), (1400, "nan"), (1500, "-1e30")):
        cells[row][1] = cell
    path = tmp_path / "odd.csv"
    path.write_text("time (s),force (N)\n" + "\n".join(",".join(c) for c in cells) + "\n")

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    out = palpate("analyze", str(path), "--json")
    assert out.returncode == 0 and out.stderr == "", out.stderr
    rows = [json.loads(line, parse_constant=refuse) for line in out.stdout.splitlines()]
    holds = [r for r in rows if r["type"] == "window" and 6.0 <= r["start"] <= 12.5]
    assert holds and all(r["stroke"] == "hold" for r in holds)
    assert rows[-1]["peak_kpa"] == pytest.approx(50.0, abs=1.0)


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


# -- personal thresholds (the subprocesses inherit the private PALPATE_CONFIG_DIR) -------------

MY_THRESHOLDS = WarningConfig(
    caution_kpa_s=10, limit_kpa_s=20, ceiling_kpa=250, personal_ceiling_kpa=5
)


def test_demo_in_the_terminal_warns_at_the_saved_personal_ceiling() -> None:
    # seed 3 presses to about 20 kPa after 4 s: above 5 kPa, far below the 300 kPa default
    save_thresholds(2.0, MY_THRESHOLDS)
    out = palpate("demo", "--seconds", "5", "--headless", "--seed", "3")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == (
        "note: your saved thresholds for thumb in use: caution 10 kPa/s, too fast 20 kPa/s, "
        "ceiling 250 kPa, personal ceiling 5 kPa"
    )
    assert any("above the personal ceiling of 5 kPa" in line for line in lines), out.stdout
    # a custom area has no saved thresholds: the defaults, and nothing said
    out = palpate("demo", "--seconds", "5", "--headless", "--seed", "3", "--area-cm2", "2.5")
    assert out.returncode == 0, out.stderr
    assert "note:" not in out.stdout and "ceiling" not in out.stdout


def test_a_damaged_file_is_one_note_and_the_defaults() -> None:
    path = thresholds_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1, "tools": {"thumb": 3}}', encoding="utf-8")
    out = palpate("demo", "--seconds", "0.5", "--headless", "--seed", "3")
    assert out.returncode == 0 and out.stderr == ""
    notes = [line for line in out.stdout.splitlines() if line.startswith("note:")]
    assert notes == [
        f"note: thresholds file {path} is damaged ('thumb' is not an object): "
        "using the defaults; fix or delete it"
    ]
    assert path.read_text(encoding="utf-8") == '{"version": 1, "tools": {"thumb": 3}}'


def test_record_uses_the_saved_thresholds_and_explicit_options_win(tmp_path: Path) -> None:
    save_thresholds(2.0, MY_THRESHOLDS)
    out_file = tmp_path / "s.palpate"
    args = ("record", "--device", "sim", "--seconds", "1", "--headless", "--seed", "3")
    out = palpate(*args, "--ramp-limit", "40", "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("note: your saved thresholds for thumb in use: caution 20 kPa/s")
    assert "(options given on the command line win)" in out.stdout.splitlines()[0]
    with SessionFile.open(out_file) as f:
        assert f.config is not None
        w = f.config.warnings
    assert (w.caution_kpa_s, w.limit_kpa_s) == (20, 40)  # --ramp-limit 40
    assert (w.ceiling_kpa, w.personal_ceiling_kpa) == (250, 5)  # saved
    assert load_thresholds(2.0) == MY_THRESHOLDS  # an option given once is not saved

    # analyze: the recorded settings unless an option is given, even one equal to a default
    recorded = palpate("analyze", str(out_file))
    assert "too fast at 40 kPa/s, caution at 20 kPa/s (as recorded)" in recorded.stdout
    given = palpate("analyze", str(out_file), "--ramp-limit", "50")
    assert "too fast at 50 kPa/s, caution at 25 kPa/s" in given.stdout
    assert "(as recorded)" not in given.stdout


def test_analyze_never_reads_the_personal_file() -> None:
    save_thresholds(2.0, MY_THRESHOLDS)
    csv = ROOT / "tests" / "data" / "csv" / "good" / "palpate_force_n.csv"
    out = palpate("analyze", str(csv), "--json")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout.splitlines()[0])
    assert first["input"]["ramp_limit_kpa_s"] == 50.0
    text = palpate("analyze", str(csv)).stdout
    assert "too fast at 50 kPa/s, caution at 25 kPa/s" in text and "saved" not in text
