"""Saved personal thresholds on the command line, run as a person runs it: a subprocess.

The subprocesses inherit the private ``PALPATE_CONFIG_DIR`` of tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from analysis.warning_level import WarningConfig
from sessions.store import SessionFile
from sessions.thresholds import load_thresholds, save_thresholds, thresholds_path

ROOT = Path(__file__).resolve().parents[2]
MINE = WarningConfig(caution_kpa_s=10, limit_kpa_s=20, ceiling_kpa=250, personal_ceiling_kpa=5)


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


def test_demo_in_the_terminal_warns_at_the_saved_personal_ceiling() -> None:
    # seed 3 presses to about 20 kPa after 4 s: above 5 kPa, far below the 300 kPa default
    save_thresholds(2.0, MINE)
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
    save_thresholds(2.0, MINE)
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
    assert load_thresholds(2.0) == MINE  # an option given once is not saved

    # analyze: the recorded settings unless an option is given, even one equal to a default
    recorded = palpate("analyze", str(out_file))
    assert "too fast at 40 kPa/s, caution at 20 kPa/s (as recorded)" in recorded.stdout
    given = palpate("analyze", str(out_file), "--ramp-limit", "50")
    assert "too fast at 50 kPa/s, caution at 25 kPa/s" in given.stdout
    assert "(as recorded)" not in given.stdout


def test_analyze_never_reads_the_personal_file() -> None:
    save_thresholds(2.0, MINE)
    csv = ROOT / "tests" / "data" / "csv" / "good" / "palpate_force_n.csv"
    out = palpate("analyze", str(csv), "--json")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout.splitlines()[0])
    assert first["input"]["ramp_limit_kpa_s"] == 50.0
    text = palpate("analyze", str(csv)).stdout
    assert "too fast at 50 kPa/s, caution at 25 kPa/s" in text and "saved" not in text
