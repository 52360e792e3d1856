"""A phyphox remote-access server on loopback, serving a recording the way the app does.

It answers ``/config``, ``/get`` and ``/control`` like phyphox: JSON bodies, buffers
filtered by the ``name=T|time_buffer`` syntax ("values whose time is newer than T"),
one answer per connection and then the connection is closed (the app has no
keep-alive). Samples appear in real time as the "measurement" runs: a recording
(e.g. a phyphox CSV export) or the simulator's hand-held phone.

Faults: ``fail_at_s``/``fail_s`` refuse connections for a while (phone locked, Wi-Fi
hiccup); ``stall_s`` delays answers.

Examples
--------
>>> server = PhyphoxServer.from_options({"seed": 1})
>>> server.buffers.time
'acc_time'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np
from numpy.typing import NDArray

from firmware_bridge.devices.phyphox import ACC, LIN, Buffers
from firmware_bridge.devices.simulator import simulate

__all__ = ["PhyphoxServer"]


class PhyphoxServer:
    """Serve accelerometer samples over HTTP on 127.0.0.1 like phyphox remote access.

    Parameters
    ----------
    t : ndarray, shape (n,)
        Sample times, seconds since the measurement started.
    xyz : ndarray, shape (n, 3)
        Accelerations, m/s².
    buffers : Buffers
        ``ACC`` ("Acceleration with g") or ``LIN`` ("Linear Acceleration").
    measuring : bool
        Whether the measurement runs from the start (else it waits for ``cmd=start``).
    loop_data : bool
        Start the recording over at its end (times keep increasing).
    fail_at_s, fail_s : float
        Refuse connections from ``fail_at_s`` for ``fail_s`` seconds of measurement.
    """

    def __init__(
        self,
        t: NDArray[np.float64],
        xyz: NDArray[np.float64],
        *,
        buffers: Buffers = ACC,
        measuring: bool = False,
        loop_data: bool = True,
        fail_at_s: float | None = None,
        fail_s: float = 1.0,
    ) -> None:
        self.t = np.asarray(t, np.float64)
        self.xyz = np.asarray(xyz, np.float64)
        if self.t.ndim != 1 or self.xyz.shape != (self.t.size, 3) or self.t.size < 2:
            raise ValueError("PhyphoxServer needs times (n,) and accelerations (n, 3), n >= 2")
        self.buffers = buffers
        self.loop_data = loop_data
        self.fail_at_s = fail_at_s
        self.fail_s = float(fail_s)
        self.requests: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._measuring = False
        self._started_at = 0.0
        self._elapsed_before = 0.0
        self._start_measuring = measuring

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PhyphoxServer:
        """``{"t": ..., "xyz": ..., "linear": bool, "seed": int, "fail_at_s": ...}``."""
        options = dict(options)
        linear = bool(options.pop("linear", False))
        seed = int(options.pop("seed", 0))
        if "t" not in options:
            _, frame = simulate(seed, duration_s=120.0, rate_hz=100.0, accel=True)
            xyz = frame.x[:, 1:].astype(np.float64)
            if linear:
                xyz[:, 2] -= 9.80665
            options["t"], options["xyz"] = frame.t + 0.01, xyz
        known = {"t", "xyz", "measuring", "loop_data", "fail_at_s", "fail_s"}
        if set(options) - known:
            raise ValueError(f"virtual phyphox: unknown options {sorted(set(options) - known)}")
        return cls(buffers=LIN if linear else ACC, **options)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        if self._start_measuring:
            self._set_measuring(True)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    # -- the measurement ----------------------------------------------------------------------

    def _elapsed(self) -> float:
        now = asyncio.get_running_loop().time()
        return self._elapsed_before + (now - self._started_at if self._measuring else 0.0)

    def _set_measuring(self, on: bool) -> None:
        if on and not self._measuring:
            self._started_at = asyncio.get_running_loop().time()
        if not on and self._measuring:
            self._elapsed_before = self._elapsed()
        self._measuring = on

    def _available(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Every sample recorded so far."""
        now = self._elapsed()
        span = self.t[-1] + (self.t[1] - self.t[0])
        if not self.loop_data:
            m = self.t <= now
            return self.t[m], self.xyz[m]
        laps = int(now // span)
        t = np.concatenate([self.t + k * span for k in range(laps + 1)])
        xyz = np.concatenate([self.xyz] * (laps + 1))
        m = t <= now
        return t[m], xyz[m]

    # -- HTTP ---------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split(" ")
            target = parts[1] if len(parts) >= 2 else "/"
            self.requests.append(target)
            elapsed = self._elapsed()
            if (
                self.fail_at_s is not None
                and self.fail_at_s <= elapsed < self.fail_at_s + self.fail_s
            ):
                return  # the phone does not answer: connection closed without a word
            status, body = self._answer(target)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _answer(self, target: str) -> tuple[str, bytes]:
        url = urlsplit(target)
        if url.path == "/config":
            return "200 OK", json.dumps(self._config()).encode()
        if url.path == "/control":
            cmd = dict(parse_qsl(url.query)).get("cmd", "")
            if cmd in ("start", "stop"):
                self._set_measuring(cmd == "start")
            elif cmd == "clear":
                self._set_measuring(False)
                self._elapsed_before = 0.0
            else:
                return "200 OK", b'{"result": false}'
            return "200 OK", b'{"result": true}'
        if url.path == "/get":
            return "200 OK", json.dumps(self._get(url.query)).encode()
        return "404 Not Found", b"{}"

    def _config(self) -> dict[str, Any]:
        b = self.buffers
        title = "Acceleration with g" if b.gravity else "Linear Acceleration"
        return {
            "crc32": "palpate0",
            "title": title,
            "localTitle": title,
            "category": "Raw Sensors",
            "buffers": [{"name": n, "size": 0} for n in (b.x, b.y, b.z, b.time)],
            "inputs": [
                {
                    "source": "accelerometer",
                    "outputs": [{"x": b.x}, {"y": b.y}, {"z": b.z}, {"t": b.time}],
                }
            ],
        }

    def _get(self, query: str) -> dict[str, Any]:
        t, xyz = self._available()
        columns = {self.buffers.time: t}
        columns.update(zip(self.buffers.values, xyz.T, strict=True))
        out: dict[str, Any] = {}
        for item in query.split("&"):
            if not item:
                continue
            name, sep, value = item.partition("=")
            name, value = unquote(name), unquote(value)
            if name not in columns:
                continue
            data = columns[name]
            if not sep:  # the last value only
                chosen, mode = data[-1:], "single"
            elif value == "full":
                chosen, mode = data, "full"
            else:
                threshold, _, ref = value.partition("|")
                ref_data = columns.get(ref or name, data)
                try:
                    limit = float(threshold)
                except ValueError:
                    limit = -math.inf
                chosen, mode = data[ref_data > limit], "partial"
            out[name] = {"size": 0, "updateMode": mode, "buffer": [float(v) for v in chosen]}
        status = {
            "session": "palpate",
            "measuring": self._measuring,
            "timedRun": False,
            "countDown": 0,
        }
        return {"buffer": out, "status": status}
