"""Starting the Qt windows: display detection, the application, offscreen screenshots.

The CLI imports this module only when it is about to open a window, so the
terminal commands never load Qt.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = [
    "catch_up_sim",
    "display_problem",
    "qt_app",
    "record_sim",
    "render_live_screenshot",
    "render_replay_screenshot",
    "run_window",
    "scratch_settings",
    "sim_session",
    "step_through",
    "wait_for_data",
]

_PROBE = "from PySide6.QtWidgets import QApplication; QApplication([])"


def display_problem(env: dict[str, str] | None = None, probe: bool = True) -> str:
    """Why no Qt window can be shown here, or ``""`` when one can.

    No display means: Qt or pyqtgraph cannot be imported, or on Linux neither
    ``DISPLAY`` nor ``WAYLAND_DISPLAY`` is set and ``QT_QPA_PLATFORM`` is not
    ``offscreen``, or (``probe``) a QApplication fails to start in a child process
    (Qt aborts the process it fails in, so it is tried in a separate one).
    """
    env = dict(os.environ if env is None else env)
    platform = env.get("QT_QPA_PLATFORM", "")
    try:
        import pyqtgraph  # noqa: F401
        import PySide6.QtWidgets  # noqa: F401
    except ImportError as err:
        return f"Qt is not available ({err})"
    offscreen = platform.split(":")[0] in ("offscreen", "minimal")
    if (
        sys.platform.startswith("linux")
        and not offscreen
        and not platform
        and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    ):
        return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    if probe and not offscreen:
        try:
            out = subprocess.run(
                [sys.executable, "-c", _PROBE], env=env, capture_output=True, timeout=20
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"Qt could not start ({err})"
        if out.returncode != 0:
            told = out.stderr.decode(errors="replace")
            if "could not connect to display" in told:
                shown = env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or "?"
                return f"Qt could not connect to the display {shown} (is it running?)"
            if "xcb" in told and sys.platform.startswith("linux"):
                return (
                    "Qt could not start a window: its X11 plugin lacks system libraries "
                    f"(Debian/Ubuntu: sudo apt install {_XCB_PACKAGES})"
                )
            last = (told.strip().splitlines() or ["?"])[-1]
            return f"Qt could not start a window ({last})"
    return ""


_XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxkbcommon-x11-0 libegl1"
)
"""What Qt's xcb platform plugin needs beyond a bare X server (Qt 6.5 and newer)."""


def qt_app() -> Any:
    """The QApplication (created once, with palpate's name for QSettings)."""
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName("palpate")
        app.setOrganizationName("palpate")
    return app


def sim_session(
    seconds: float | None,
    *,
    config: Any = None,
    realtime: bool = True,
    rate_hz: float = 100.0,
    channels: int = 1,
    seed: int | None = None,
    block_s: float = 0.02,
) -> Any:
    """A LiveSession over the simulated pad (pressing with the config's contact area)."""
    from analysis.pipeline import PipelineConfig
    from firmware_bridge import open_source
    from sessions.live import LiveSession

    config = config or PipelineConfig()
    source = open_source(
        "sim",
        rate_hz=rate_hz,
        channels=channels,
        seed=seed,
        area_cm2=config.area_cm2,
        realtime=realtime,
        block_s=block_s,
        duration_s=seconds,
    )
    return LiveSession(source, config)


def catch_up_sim(history_s: float, **options: Any) -> Any:
    """A simulated pad that streams ``history_s`` seconds as fast as it can, then in real time.

    A window then opens on a session with history behind it and live data still
    arriving (``palpate screenshot``, ``benchmarks/ui_frame.py``). ``options`` go to
    :class:`~firmware_bridge.devices.simulator.SimulatedPad`.
    """
    import asyncio
    from collections.abc import AsyncIterator

    from analysis.stream import Frame
    from firmware_bridge.devices.simulator import SimulatedPad

    class CatchUpPad(SimulatedPad):
        async def _frames(self) -> AsyncIterator[Frame]:
            loop = asyncio.get_running_loop()
            start: float | None = None
            async for frame in super()._frames():
                if frame.t[-1] >= history_s:
                    if start is None:
                        start = loop.time() - float(frame.t[-1])
                    await asyncio.sleep(max(0.0, start + float(frame.t[-1]) - loop.time()))
                yield frame

    return CatchUpPad(realtime=False, **options)


def run_window(window: Any) -> int:
    """Show ``window`` and run the Qt event loop until it closes; returns 0.

    Ctrl-C in the terminal closes the window as its close button does (the session
    stops, and the caller prints its summary). Python runs a signal handler only between
    Qt's calls into Python, so a timer makes one at least five times a second; without
    the handler, Ctrl-C raised KeyboardInterrupt inside a paint call, where Qt printed
    it and went on.
    """
    from PySide6 import QtCore

    app = qt_app()

    def close() -> None:
        window.close()
        app.quit()

    def interrupted(signum: int, frame: Any) -> None:
        QtCore.QTimer.singleShot(0, close)

    previous = signal.signal(signal.SIGINT, interrupted)
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    window.show()
    try:
        app.exec()
    finally:
        wake.stop()
        signal.signal(signal.SIGINT, previous)
    return 0


def wait_for_data(session: Any, seconds: float, timeout_s: float = 120.0) -> float:
    """Wait until the session holds ``seconds`` of pressure; return its first time."""
    deadline = time.monotonic() + timeout_s
    first = None
    while time.monotonic() < deadline:
        if first is None and len(session.pressure):
            first = float(session.pressure.since(-float("inf"))[0, 0])
        rows = session.pressure.latest(1)
        if first is not None and rows.size and rows[0, 0] - first >= seconds:
            return first
        if session.stopped:
            raise RuntimeError(session.error or "the simulated session ended early")
        time.sleep(0.02)
    raise RuntimeError(f"the simulated session did not produce {seconds:g} s in {timeout_s:g} s")


def step_through(window: Any, t0: float, seconds: float, step_s: float = 0.1) -> None:
    """Draw ``window`` frame by frame from ``t0`` to ``t0 + seconds`` of session time."""
    app = qt_app()
    cursor = {"t": t0}
    window.clock = lambda: cursor["t"]
    n = max(1, round(seconds / step_s))
    for i in range(1, n + 1):
        cursor["t"] = t0 + i * step_s
        window.tick(until=cursor["t"])
        if i % 10 == 0 or i == n:
            app.processEvents()


def render_live_screenshot(
    out: Path,
    seconds: float,
    *,
    config: Any = None,
    rate_hz: float = 100.0,
    channels: int = 1,
    seed: int = 3,
    size: tuple[int, int] = (1400, 860),
    theme_name: str = "dark",
    settings: Any = None,
    partner: bool = False,
) -> Path:
    """Render the live window offscreen after ``seconds`` of simulated data, saved as PNG.

    The simulated pad streams as fast as it can; the window then steps through the
    data in 0.1 s frames, so warnings, marks and the ribbon look as they did live.
    """
    from PySide6 import QtCore

    from analysis.pipeline import PipelineConfig
    from sessions.live import LiveSession
    from ui.live_window import LiveWindow

    app = qt_app()
    config = config or PipelineConfig()
    source = catch_up_sim(
        seconds + 1.0,
        rate_hz=rate_hz,
        channels=channels,
        seed=seed,
        block_s=0.05,
        area_cm2=config.area_cm2,
    )
    session = LiveSession(source, config)
    settings = settings or scratch_settings()
    window = LiveWindow(session, device="sim", theme_name=theme_name, settings=settings)
    window.resize(*size)
    window.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    window.timer.setInterval(10_000_000)  # frames are stepped below, not by the timer
    window.flash = False  # show the steady state, not a flash
    window.show()
    try:
        t0 = wait_for_data(session, seconds + 0.5)
        step_through(window, t0, seconds)
        if partner:
            window.toggle_partner()
            window.tick(until=t0 + seconds)
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.screenshot(out)
    finally:
        window.close()
        app.processEvents()
    return out


def scratch_settings() -> Any:
    """Settings that are not remembered (screenshots must not change a person's settings);
    the scratch folder is removed when the process ends."""
    import atexit
    import shutil
    import tempfile

    from PySide6 import QtCore

    folder = tempfile.mkdtemp(prefix="palpate-qt-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return QtCore.QSettings(str(Path(folder) / "settings.ini"), QtCore.QSettings.Format.IniFormat)


def record_sim(
    path: Path,
    seconds: float,
    *,
    config: Any = None,
    rate_hz: float = 100.0,
    channels: int = 1,
    seed: int = 3,
) -> Path:
    """Record ``seconds`` of the simulated pad into ``path`` as fast as it can be analysed."""
    session = sim_session(
        seconds,
        config=config,
        realtime=False,
        rate_hz=rate_hz,
        channels=channels,
        seed=seed,
        block_s=0.05,
    )
    session.start_recording(path)
    session.start()
    if not session.wait(timeout=600.0):
        session.stop()
        raise RuntimeError(f"recording {seconds:g} s of the simulator did not finish")
    session.stop()
    if session.error:
        raise RuntimeError(session.error)
    return path


def render_replay_screenshot(
    out: Path,
    seconds: float,
    *,
    config: Any = None,
    rate_hz: float = 100.0,
    channels: int = 1,
    seed: int = 3,
    size: tuple[int, int] = (1500, 900),
    theme_name: str = "dark",
    settings: Any = None,
) -> Path:
    """Record ``seconds`` of simulated data, open it in the replay window, save it as PNG.

    The cursor is put at the end of the session.
    """
    import tempfile

    from PySide6 import QtCore

    from ui.replay_window import ReplayWindow
    from ui.theme import THEMES

    app = qt_app()
    with tempfile.TemporaryDirectory(prefix="palpate-shot-") as folder:
        path = record_sim(
            Path(folder) / "screenshot.palpate",
            seconds,
            config=config,
            rate_hz=rate_hz,
            channels=channels,
            seed=seed,
        )
        window = ReplayWindow(path, settings=settings or scratch_settings(), autoplay=False)
        window.apply_theme(THEMES[theme_name])
        window.resize(*size)
        window.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        window.show()
        try:
            if not window.session.wait(timeout=600.0):
                raise RuntimeError("the replay did not finish analysing")
            window.tick(advance=False)
            window.seek(window.t_last)
            app.processEvents()
            out.parent.mkdir(parents=True, exist_ok=True)
            window.screenshot(out)
        finally:
            window.close()
            app.processEvents()
    return out
