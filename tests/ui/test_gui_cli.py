"""The windowed commands, run as a person runs them: a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

ROOT = Path(__file__).resolve().parents[2]


def palpate(
    *args: str, env: dict[str, str], timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )


def no_display() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(key, None)
    return env


def offscreen() -> dict[str, str]:
    return {**no_display(), "QT_QPA_PLATFORM": "offscreen"}


def test_screenshot_of_both_windows(tmp_path: Path) -> None:
    from PySide6 import QtGui

    for window in ("live", "replay", "partner"):
        out = tmp_path / f"{window}.png"
        done = palpate(
            "screenshot", "--device", "sim", "--seconds", "8", "--out", str(out),
            "--window", window, "--size", "1400x860", env=no_display(),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"wrote {out}" and done.stderr == ""
        image = QtGui.QImage(str(out))
        assert (image.width(), image.height()) == (1400, 860)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--device", "virtual:tindeq"), "simulator only"),
        (("--out", "shot.jpg"), "must be a .png"),
        (("--size", "big"), "--size must look like"),
    ],
)
def test_screenshot_refuses_bad_options_in_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    base = {"--device": "sim", "--out": str(tmp_path / "a.png"), "--seconds": "2"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    done = palpate("screenshot", *[x for kv in base.items() for x in kv], env=no_display())
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_demo_opens_the_window_where_qt_can_draw(tmp_path: Path) -> None:
    done = palpate("demo", "--seconds", "1.5", "--seed", "2", env=offscreen())
    assert done.returncode == 0, done.stderr
    assert "summary:" in done.stdout
    assert "t=" not in done.stdout  # no terminal view
    assert done.stderr == ""


def test_ctrl_c_closes_the_window_and_prints_the_summary(
    ctrl_c: Callable[..., tuple[int, str, str]],
) -> None:
    # Ctrl-C in the terminal a window was opened from: the window closes as by its close
    # button, the summary is printed, nothing is left running (it used to raise inside a
    # paint call, where Qt printed the KeyboardInterrupt and went on)
    code, out, err = ctrl_c("demo", "--seed", "2", after=0, env={"QT_QPA_PLATFORM": "offscreen"})
    assert code == 0, err
    assert "summary:" in out and "t=" not in out
    assert "KeyboardInterrupt" not in err and "Traceback" not in err


def test_without_a_display_demo_and_replay_fall_back_to_the_terminal(tmp_path: Path) -> None:
    done = palpate("demo", "--seconds", "1", env=no_display())
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("note: no display") and first.endswith("showing the terminal view")
    assert any(line.startswith("t=") for line in done.stdout.splitlines())

    from ui.gui import record_sim

    path = record_sim(tmp_path / "s.palpate", 3.0)
    done = palpate("replay", str(path), "--speed", "16", env=no_display())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("note: no display") and "replaying" in done.stdout


def test_headless_forces_the_terminal_view_even_offscreen() -> None:
    done = palpate("demo", "--seconds", "1", "--headless", env=offscreen())
    assert done.returncode == 0 and "note:" not in done.stdout
    assert any(line.startswith("t=") for line in done.stdout.splitlines())


def test_display_detection() -> None:
    from ui.gui import display_problem

    if sys.platform.startswith("linux"):
        assert "no display" in display_problem({}, probe=False)
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) == ""
    # a display that is named but not there: Qt fails to start, in a child process
    problem = display_problem({**no_display(), "DISPLAY": ":93"})
    assert problem.startswith("Qt could not")
    if sys.platform.startswith("linux"):  # and it says what to do about it
        assert ":93" in problem or "apt install" in problem
