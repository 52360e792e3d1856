"""A phone's accelerometer through phyphox remote access (HTTP on the local network).

phyphox (the RWTH Aachen physics app) serves a running experiment over HTTP when
"Allow remote access" is on; the app shows the address (``http://192.168.1.20:8080``).
palpate uses the experiments "Acceleration with g" (buffers ``acc_time``, ``accX``,
``accY``, ``accZ``) or "Linear Acceleration" (``lin_time``, ``linX`` ...), m/s²:

- ``GET /config``: the experiment and its buffers (which one runs);
- ``GET /control?cmd=start`` (``stop``, ``clear``): ``{"result": true}``;
- ``GET /get?acc_time=T&accX=T|acc_time&accY=T|acc_time&accZ=T|acc_time``: only the
  samples whose ``acc_time`` is newer than ``T`` (``/get?acc_time`` alone: the last one);
  ``{"buffer": {"accX": {"buffer": [...], ...}, ...}, "status": {"measuring": ...}}``.

The app closes every connection after its answer (no keep-alive), so each request
is a fresh connection. The phone's own clock (seconds since the measurement
started) is aligned onto the session clock; polling at 10 Hz asks for everything
newer than the last sample, so a slow or failed request loses nothing: the next
one brings the samples that were missed.

Examples
--------
>>> body = b'{"buffer": {"acc_time": {"buffer": [0.01, 0.02]}, "accX": {"buffer": [0.1, 0.2]},'
>>> body += b' "accY": {"buffer": [0, 0]}, "accZ": {"buffer": [9.8, 9.8]}}, "status": {}}'
>>> t, xyz = decode_get(body, ACC)
>>> t.tolist(), xyz.shape
([0.01, 0.02], (2, 3))
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import numpy as np
from numpy.typing import NDArray

from analysis.stream import Channel, Event, EventKind, Frame, StreamInfo
from firmware_bridge.ble import LinkStatus
from firmware_bridge.clock import ClockAligner
from firmware_bridge.errors import DecodeError, DeviceNotFound, LinkLost
from firmware_bridge.linklog import link_log
from firmware_bridge.source import Source

if TYPE_CHECKING:
    from firmware_bridge.virtual.phyphox_server import PhyphoxServer

__all__ = [
    "ACC",
    "LIN",
    "Buffers",
    "PhyphoxSource",
    "decode_config",
    "decode_get",
    "decode_last_time",
    "decode_status",
    "get_path",
    "http_get",
    "parse_host",
]


@dataclass(frozen=True, slots=True)
class Buffers:
    """The buffer names of one phyphox accelerometer experiment."""

    time: str
    x: str
    y: str
    z: str
    gravity: bool

    @property
    def values(self) -> tuple[str, str, str]:
        return (self.x, self.y, self.z)


ACC: Final = Buffers("acc_time", "accX", "accY", "accZ", gravity=True)
"""'Acceleration with g'."""
LIN: Final = Buffers("lin_time", "linX", "linY", "linZ", gravity=False)
"""'Linear Acceleration' (without g)."""

MAX_RESPONSE: Final = 32 * 1024 * 1024
"""Largest HTTP answer read, bytes."""


def parse_host(spec: str) -> tuple[str, int]:
    """``"HOST[:PORT]"`` or ``"http://HOST:PORT/"`` -> (host, port); the app's port is 8080."""
    text = spec.strip().removeprefix("http://").rstrip("/")
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        host, port = text, "8080"
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"phyphox address {spec!r}: give HOST[:PORT] as the app shows it, "
            "e.g. phyphox:192.168.1.20:8080"
        )
    return host, int(port)


def get_path(buffers: Buffers, since: float | None) -> str:
    """The ``/get`` query for samples newer than ``since`` (None: only the last one)."""
    if since is None:
        return f"/get?{buffers.time}"
    t = repr(float(since))
    parts = [f"{buffers.time}={t}"]
    parts += [f"{name}={quote(t + '|' + buffers.time, safe='')}" for name in buffers.values]
    return "/get?" + "&".join(parts)


def _json(payload: bytes) -> dict[str, Any]:
    data = bytes(payload)
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise DecodeError(data, f"not JSON: {err}") from None
    if not isinstance(obj, dict):
        raise DecodeError(data, "the answer is not a JSON object")
    return obj


def decode_config(payload: bytes) -> tuple[str, Buffers]:
    """``/config`` -> (experiment title, the accelerometer buffers it has)."""
    obj = _json(payload)
    names = set()
    buffers = obj.get("buffers", [])
    if isinstance(buffers, list):
        names = {
            b["name"] for b in buffers if isinstance(b, dict) and isinstance(b.get("name"), str)
        }
    title = str(obj.get("localTitle") or obj.get("title") or "phyphox experiment")
    for candidate in (ACC, LIN):
        if {candidate.time, *candidate.values} <= names:
            return title, candidate
    raise DecodeError(
        bytes(payload)[:200],
        f"experiment {title!r} has no accelerometer buffers (needs acc_time/accX/accY/accZ "
        "or lin_time/linX/linY/linZ): start 'Acceleration with g' or 'Linear Acceleration' "
        "in phyphox",
    )


def _column(obj: dict[str, Any], name: str, payload: bytes) -> NDArray[np.float64]:
    entry = obj.get(name)
    values = entry.get("buffer") if isinstance(entry, dict) else None
    if not isinstance(values, list):
        raise DecodeError(payload, f"buffer {name!r} missing from the answer")
    try:
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        reason = f"buffer {name!r} holds something that is not a number"
        raise DecodeError(payload, reason) from None


def decode_get(payload: bytes, buffers: Buffers) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``/get`` -> (times (n,) s on the phone's clock, accelerations (n, 3) m/s²).

    Rows with a missing (null/NaN) value or a time that does not increase are
    dropped; columns of unequal length are cut to the shortest.
    """
    data = bytes(payload)
    obj = _json(data)
    buffer = obj.get("buffer")
    if not isinstance(buffer, dict):
        raise DecodeError(data, "no 'buffer' object in the answer")
    columns = [_column(buffer, name, data) for name in (buffers.time, *buffers.values)]
    n = min(c.size for c in columns)
    table = np.column_stack([c[:n] for c in columns]) if n else np.zeros((0, 4))
    table = table[np.isfinite(table).all(axis=1)]
    if table.shape[0]:
        before = np.maximum.accumulate(np.concatenate([[-np.inf], table[:-1, 0]]))
        table = table[table[:, 0] > before]
    return table[:, 0].copy(), table[:, 1:].copy()


def decode_last_time(payload: bytes, buffers: Buffers) -> float | None:
    """The newest time in a ``/get?acc_time`` answer (None when the buffer is empty)."""
    obj = _json(payload)
    buffer = obj.get("buffer")
    if not isinstance(buffer, dict):
        raise DecodeError(bytes(payload), "no 'buffer' object in the answer")
    t = _column(buffer, buffers.time, bytes(payload))
    t = t[np.isfinite(t)]
    return float(t[-1]) if t.size else None


def decode_status(payload: bytes) -> dict[str, Any]:
    """The ``status`` object of a ``/get`` answer ({} if none)."""
    status = _json(payload).get("status")
    return status if isinstance(status, dict) else {}


async def http_get(host: str, port: int, path: str, timeout_s: float = 2.0) -> bytes:
    """One GET on a fresh connection (phyphox closes it after answering); the body.

    Raises ``OSError`` (connection failures, an HTTP status other than 200) and
    ``TimeoutError``.
    """

    async def fetch() -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode("ascii"))
            await writer.drain()
            raw = await reader.read(MAX_RESPONSE)
            while chunk := await reader.read(MAX_RESPONSE):
                raw += chunk
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            raise OSError(f"incomplete HTTP answer from {host}:{port}")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or parts[1] != "200":
            raise OSError(f"{host}:{port}{path.split('?')[0]} answered {status_line!r}")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)
        }
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = _dechunk(body)
        return body

    async with asyncio.timeout(timeout_s):  # not wait_for: it can lose a cancel on 3.11
        return await fetch()


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            raise OSError("bad chunked HTTP answer") from None
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


class PhyphoxSource(Source):
    """A phone running phyphox: ``acc x``, ``acc y``, ``acc z`` in m/s².

    Parameters
    ----------
    address : str, optional
        ``HOST[:PORT]`` shown by the app; None with ``virtual`` set.
    virtual : bool or mapping
        Serve a recorded or simulated phone on loopback instead (``True`` or
        options of :class:`~firmware_bridge.virtual.phyphox_server.PhyphoxServer`).
    poll_s : float
        Seconds between requests.
    start : bool
        Send ``cmd=start`` if the experiment is not measuring.
    duration_s : float, optional
        End after this many seconds of data.
    reconnect_timeout_s : float
        Give up when the phone has not answered for this long.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        virtual: bool | dict[str, Any] = False,
        poll_s: float = 0.1,
        start: bool = True,
        duration_s: float | None = None,
        timeout_s: float = 2.0,
        reconnect_timeout_s: float = 30.0,
    ) -> None:
        super().__init__()
        if address is None and virtual is False:
            raise ValueError("phyphox needs the phone's address: phyphox:HOST[:PORT]")
        self._address = parse_host(address) if address else None
        self._virtual = None if virtual is False else ({} if virtual is True else dict(virtual))
        for name, value in (("poll_s", poll_s), ("timeout_s", timeout_s)):
            if not 0 < value <= 60:
                raise ValueError(f"{name} must be 0-60 s, got {value!r}")
        if duration_s is not None and not duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {duration_s!r}")
        self._poll_s = float(poll_s)
        self._start = bool(start)
        self._duration_s = duration_s
        self._timeout_s = float(timeout_s)
        self._reconnect_timeout_s = float(reconnect_timeout_s)
        self.server: PhyphoxServer | None = None
        self.link = LinkStatus()
        self._buffers = ACC
        self._since: float | None = None
        self._pending: tuple[NDArray[np.float64], NDArray[np.float64], float] | None = None
        self._aligner = ClockAligner()
        self._t0 = 0.0
        self._index = 0
        self._prev_t = -math.inf
        self._prev_dev: float | None = None
        self._events: list[Event] = []
        self._session: Any = None

    @property
    def link_state(self) -> str:
        return self.link.state

    def drain_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def _log(self, event: str, detail: str = "", *, save: bool = False) -> None:
        link_log().record("phyphox", self.link.device or "phone", event, detail, save=save)

    async def _get(self, path: str) -> bytes:
        assert self._address is not None
        host, port = self._address
        return await http_get(host, port, path, self._timeout_s)

    async def _open(self) -> StreamInfo:
        loop = asyncio.get_running_loop()
        self._t0 = loop.time()
        if self._virtual is not None:
            from firmware_bridge.virtual.phyphox_server import PhyphoxServer

            self.server = PhyphoxServer.from_options(self._virtual)
            await self.server.start()
            self._address = ("127.0.0.1", self.server.port)
        assert self._address is not None
        host, port = self._address
        self.link.device, self.link.address = f"phone at {host}:{port}", f"{host}:{port}"
        self.link.state = "connecting"
        try:
            title, self._buffers = decode_config(await self._get("/config"))
            latest = await self._get(get_path(self._buffers, None))
            status = decode_status(latest)
            self._since = decode_last_time(latest, self._buffers)  # only what comes from now on
            if self._start and not status.get("measuring", False):
                await self._get("/control?cmd=start")
            rate_hz = await self._measure_rate()
        except (OSError, TimeoutError) as err:
            await self._stop_server()
            self._log("not_found", f"{host}:{port}: {err}", save=True)
            raise DeviceNotFound(
                f"phyphox:{host}:{port}",
                f"{type(err).__name__}: {err}; is phyphox open on the phone with remote access "
                "on, and the phone on the same network?",
            ) from err
        except BaseException:
            await self._stop_server()
            raise
        self.link.state = "streaming"
        self._log("connected", f"{title}, {rate_hz:.1f} Hz", save=True)
        gravity = "included" if self._buffers.gravity else "removed (linear acceleration)"
        return StreamInfo(
            "phyphox",
            self.link.device,
            rate_hz,
            tuple(Channel(f"acc {a}", "m/s^2", "accel") for a in "xyz"),
            {"experiment": title, "gravity": gravity, "address": self.link.address},
        )

    async def _measure_rate(self) -> float:
        """Poll until a second of samples shows the phone's rate; keep them for the stream."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(5.0, 3 * self._timeout_s)
        ts, xs = [], []
        while loop.time() < deadline:
            t, xyz = decode_get(
                await self._get(get_path(self._buffers, self._since_or_start())), self._buffers
            )
            if t.size:
                ts.append(t)
                xs.append(xyz)
                self._since = float(t[-1])
                all_t = np.concatenate(ts)
                if all_t.size >= 20 and all_t[-1] - all_t[0] >= 0.5:
                    self._pending = (all_t, np.concatenate(xs), loop.time())
                    return round(float(1.0 / np.median(np.diff(all_t))), 2)
            await asyncio.sleep(self._poll_s)
        raise TimeoutError("the phone sent no accelerometer samples (is the experiment running?)")

    def _since_or_start(self) -> float:
        return -1.0 if self._since is None else self._since

    async def _frames(self) -> AsyncIterator[Frame]:
        loop = asyncio.get_running_loop()
        first_t: float | None = None
        failing_since: float | None = None
        delay = self._poll_s
        while True:
            if self._pending is not None:
                t, xyz, arrival = self._pending
                self._pending = None
            else:
                await asyncio.sleep(self._poll_s)
                try:
                    payload = await self._get(get_path(self._buffers, self._since_or_start()))
                    t, xyz = decode_get(payload, self._buffers)
                    arrival = loop.time()
                except DecodeError as err:
                    self.link.bad_packets += 1
                    self._log("bad_answer", str(err))
                    continue
                except (OSError, TimeoutError) as err:
                    now = loop.time()
                    if failing_since is None:
                        failing_since = now
                        self.link.state = "reconnecting"
                        self._log("link_lost", f"{type(err).__name__}: {err}", save=True)
                    if now - failing_since > self._reconnect_timeout_s:
                        self.link.state = "lost"
                        raise LinkLost(self.link.address, now - failing_since, 0) from err
                    await asyncio.sleep(delay)
                    delay = min(2 * delay, 2.0)
                    continue
                if failing_since is not None:
                    self._log(
                        "reconnected", f"after {loop.time() - failing_since:.1f} s", save=True
                    )
                    self.link.reconnects += 1
                    self._events.append(
                        Event(
                            max(self._prev_t, 0.0) + 1e-6,
                            EventKind.RECONNECT,
                            {
                                "device": self.link.device,
                                "down_s": round(loop.time() - failing_since, 3),
                            },
                        )
                    )
                    failing_since, delay = None, self._poll_s
                    self.link.state = "streaming"
            self.link.packets += 1
            if not t.size:
                continue
            frame = self._to_frame(t, xyz, arrival - self._t0)
            if frame is None:
                continue
            self._since = float(t[-1])
            first_t = float(frame.t[0]) if first_t is None else first_t
            yield frame
            if self._duration_s is not None and frame.t[-1] - first_t >= self._duration_s:
                return

    def _to_frame(
        self, t: NDArray[np.float64], xyz: NDArray[np.float64], host: float
    ) -> Frame | None:
        rate = self.info.rate_hz if self._info is not None else 100.0
        if self._prev_dev is not None:
            keep = t > self._prev_dev
            if not keep.any():
                if t[-1] < self._prev_dev - 1.0:  # the experiment was restarted
                    self._aligner.reset()
                    self._prev_dev = None
                    return self._to_frame(t, xyz, host)
                self.link.late_packets += 1
                return None
            t, xyz = t[keep], xyz[keep]
        missing = 0
        if self._prev_dev is not None:
            step = float(t[0] - self._prev_dev)
            if step > 2.5 / rate:  # the phone's sensor rate jitters: only clear gaps count
                missing = round(step * rate) - 1
        self._aligner.add(float(t[-1]), host)
        mapped = self._aligner.map(t)
        if mapped[0] <= self._prev_t:
            mapped = mapped + (self._prev_t - mapped[0]) + 1e-6
        self._index += missing
        self.link.lost_samples += missing
        frame = Frame(mapped, xyz.astype(np.float32), self._index)
        self._index += frame.n
        self._prev_t, self._prev_dev = float(mapped[-1]), float(t[-1])
        self.link.arrived(frame.n)
        return frame

    async def _stop_server(self) -> None:
        if self.server is not None:
            await self.server.stop()

    async def _close(self) -> None:
        self.link.state = "closed"
        self._log("closed", f"{self.link.packets} answers, {self.link.bad_packets} bad", save=True)
        await self._stop_server()
