"""The base of every Bluetooth LE source: find, connect, decode, align, reconnect.

A BLE driver is one module in ``firmware_bridge/devices/`` with a
:class:`BleProfile` (how to recognise the device), a pure ``decode`` function and a
:class:`BleSource` subclass that fills three hooks:

- :meth:`BleSource._setup`: after every (re)connection, read what it needs,
  subscribe to the data characteristic with :meth:`BleSource._on_notify` and start
  the stream; return the :class:`~analysis.stream.StreamInfo`;
- :meth:`BleSource._unpack`: one notification's bytes -> a :class:`Packet`
  (values in palpate units, with device timestamps or a sample counter when the
  device sends them), raising the module's ``DecodeError`` for bad bytes;
- :meth:`BleSource._make_peer`: the virtual peripheral that stands in for the
  device (``virtual=True``), see :mod:`firmware_bridge.virtual`.

The base class does the rest, the same way for every device:

- **finding**: by address, by advertised name (exact or prefix, any case), or the
  first device that advertises the profile's service or name prefix (a device
  connected to before is preferred: :mod:`firmware_bridge.recent`);
- **decoding**: a packet that does not decode is counted, logged and dropped,
  never passed on; a packet whose samples come before ones already yielded
  (duplicate, reordered) is dropped;
- **clock**: device times (or counters / the nominal rate) go through a
  :class:`~firmware_bridge.clock.ClockAligner` onto the session clock (seconds
  since the source opened);
- **lost samples**: counters and timestamps reveal lost samples; the next frame's
  ``index`` jumps by their number, so the pipeline records a ``gap`` event;
- **reconnecting**: when the link drops, it reconnects with backoff
  (0.1 s doubling to 2 s) for up to ``reconnect_timeout_s``; the time the link was
  down becomes a gap (index jump by the samples that would have come, time jumps
  too: never spliced over) plus a ``reconnect`` event from :meth:`drain_events`;
- **status**: :attr:`link` (state, data age, measured rate, counters) and the
  diagnostics ring buffer (:mod:`firmware_bridge.linklog`);
- **remembering** each device connected to (:mod:`firmware_bridge.recent`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakBluetoothNotAvailableError, BleakError
from numpy.typing import NDArray

from analysis.stream import Event, EventKind, Frame, StreamInfo
from firmware_bridge.clock import ClockAligner
from firmware_bridge.errors import (
    BluetoothUnavailable,
    BridgeError,
    DecodeError,
    DeviceNotFound,
    LinkLost,
)
from firmware_bridge.linklog import link_log
from firmware_bridge.recent import recent_devices, remember
from firmware_bridge.source import Source

if TYPE_CHECKING:
    from firmware_bridge.virtual.air import Air
    from firmware_bridge.virtual.peer import VirtualPeripheral

__all__ = [
    "BleProfile",
    "BleSource",
    "LinkStatus",
    "Packet",
    "Unwrap32",
    "bluetooth_unavailable",
    "is_address",
]

RECENT_GRACE_S = 1.5
"""Seconds a scan for "the first device" waits for a remembered one after a stranger."""

_ADDRESS = re.compile(
    r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"
)


def is_address(text: str) -> bool:
    """Whether ``text`` is a Bluetooth address (``AA:BB:..``) or a macOS device UUID."""
    return bool(_ADDRESS.match(text.strip()))


def _uuid(u: str) -> str:
    u = u.lower()
    if len(u) == 4:
        return f"0000{u}-0000-1000-8000-00805f9b34fb"
    return u


@dataclass(frozen=True, slots=True)
class BleProfile:
    """How to recognise a device kind in advertisements.

    Parameters
    ----------
    kind : str
        Registry name (``"tindeq"``).
    label : str
        What a person calls it (``"Tindeq Progressor"``).
    service_uuid : str
        The primary service; an advertisement listing it is this device.
    name_prefixes : tuple of str
        Advertised-name prefixes that identify it too (many devices do not list
        their 128-bit service in the advertisement).
    rate_hz : float
        Nominal sample rate, Hz.
    """

    kind: str
    label: str
    service_uuid: str
    name_prefixes: tuple[str, ...] = ()
    rate_hz: float = 100.0

    def matches(self, name: str | None, service_uuids: Iterable[str]) -> bool:
        """Whether an advertisement with this name and service list is this device kind."""
        if _uuid(self.service_uuid) in {_uuid(u) for u in service_uuids}:
            return True
        return bool(name) and any(
            str(name).lower().startswith(p.lower()) for p in self.name_prefixes
        )


@dataclass(frozen=True, slots=True)
class Packet:
    """What one notification held, in palpate units.

    Parameters
    ----------
    values : ndarray, shape (n, channels), float32
        Samples (N, m/s², kPa or adc).
    device_t : ndarray, shape (n,), float64, optional
        Device timestamps of the rows, seconds, strictly increasing.
    counter : int, optional
        The device's sample number of the first row (exact loss detection).
    """

    values: NDArray[np.float32]
    device_t: NDArray[np.float64] | None = None
    counter: int | None = None


@dataclass
class LinkStatus:
    """What the link is doing, for the live view and diagnostics."""

    state: str = "new"  # new, scanning, connecting, streaming, stalled, reconnecting, closed
    device: str = ""
    address: str = ""
    mtu: int = 0
    packets: int = 0
    bad_packets: int = 0
    late_packets: int = 0
    lost_samples: int = 0
    reconnects: int = 0
    last_data_monotonic: float = float("nan")
    rate_hz: float = float("nan")
    _arrivals: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=2000))

    @property
    def data_age_s(self) -> float:
        """Seconds since the last sample arrived (nan before any)."""
        return time.monotonic() - self.last_data_monotonic

    def arrived(self, n: int) -> None:
        now = time.monotonic()
        self.last_data_monotonic = now
        self._arrivals.append((now, n))
        while len(self._arrivals) > 2 and now - self._arrivals[0][0] > 5.0:
            self._arrivals.popleft()
        span = now - self._arrivals[0][0]
        if span > 0.5:
            self.rate_hz = sum(k for _, k in list(self._arrivals)[1:]) / span

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "device": self.device,
            "address": self.address,
            "mtu": self.mtu,
            "packets": self.packets,
            "bad_packets": self.bad_packets,
            "late_packets": self.late_packets,
            "lost_samples": self.lost_samples,
            "reconnects": self.reconnects,
            "rate_hz": None if np.isnan(self.rate_hz) else round(self.rate_hz, 2),
        }


class Unwrap32:
    """A device's free-running 32-bit counter (samples, µs) made to run on past 2³².

    Steps are taken modulo 2³²; a step of 2³¹ or more is a step back (a late packet, or
    the device restarting its counter). After :meth:`restart` (a new connection) the
    next value continues from the last one.

    >>> u = Unwrap32()
    >>> u(2**32 - 10), u(5), u(3)
    (4294967286, 4294967301, 4294967299)
    """

    def __init__(self) -> None:
        self.raw: int | None = None
        self.value = 0

    def restart(self) -> None:
        self.raw = None

    def __call__(self, raw: int) -> int:
        raw = int(raw)
        if self.raw is None:
            value = self.value + raw
        else:
            step = (raw - self.raw) % 2**32
            value = self.value + (step if step < 2**31 else step - 2**32)
        self.raw, self.value = raw, value
        return value


def bluetooth_unavailable(err: BaseException) -> BluetoothUnavailable | None:
    """The :class:`BluetoothUnavailable` an error from bleak means, or None if it is not one."""
    if isinstance(err, BluetoothUnavailable):
        return err
    if isinstance(err, BleakBluetoothNotAvailableError):
        name = err.reason.name
        reason = (
            "off"
            if name == "POWERED_OFF"
            else "denied"
            if name.startswith("DENIED")
            else "missing"
            if name in ("NO_BLUETOOTH", "NO_BLE_CENTRAL_ROLE")
            else "unknown"
        )
        return BluetoothUnavailable(reason, str(err.args[0]) if err.args else "")
    text = f"{type(err).__name__}: {err}"
    if isinstance(err, PermissionError) or "AccessDenied" in text or "NotPermitted" in text:
        return BluetoothUnavailable("denied", text)
    if isinstance(err, FileNotFoundError | ConnectionRefusedError):  # no D-Bus / no bluetoothd
        return BluetoothUnavailable(
            "missing", f"the system's Bluetooth service is unreachable: {text}"
        )
    if isinstance(err, BleakError):
        low = text.lower()
        if "no bluetooth adapters" in low or ("not found" in low and "adapter" in low):
            return BluetoothUnavailable("missing", text)
        if "powered off" in low or "not powered" in low or "is off" in low:
            return BluetoothUnavailable("off", text)
        if "serviceunknown" in low or ("org.bluez" in low and "unknown" in low):
            return BluetoothUnavailable("missing", text)
    return None


class BleSource(Source):
    """A :class:`~firmware_bridge.source.Source` reading a BLE device through bleak.

    Parameters
    ----------
    target : str, optional
        Address, or advertised name (exact or prefix, any case); None connects to
        the first device of this kind that advertises.
    virtual : bool or mapping
        Stream from a virtual peripheral on an in-process radio instead
        (``True``, or options for it: ``{"faults": {...}, ...}``).
    air : Air, optional
        Connect over this virtual radio (the peripheral is already on it).
    duration_s : float, optional
        End after this many seconds of data (None: until closed).
    scan_timeout_s, connect_timeout_s : float
        Limits for finding and connecting, seconds.
    reconnect_timeout_s : float
        Give up reconnecting after this many seconds (raises
        :class:`~firmware_bridge.errors.LinkLost`).
    stall_s : float
        No data for this long marks the link ``stalled`` (it stays connected).
    """

    profile: ClassVar[BleProfile]

    def __init__(
        self,
        target: str | None = None,
        *,
        virtual: bool | Mapping[str, Any] = False,
        air: Air | None = None,
        duration_s: float | None = None,
        scan_timeout_s: float = 8.0,
        connect_timeout_s: float = 10.0,
        reconnect_timeout_s: float = 30.0,
        stall_s: float = 1.0,
    ) -> None:
        super().__init__()
        if duration_s is not None and not duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {duration_s!r}")
        for name, value in (
            ("scan_timeout_s", scan_timeout_s),
            ("connect_timeout_s", connect_timeout_s),
            ("reconnect_timeout_s", reconnect_timeout_s),
            ("stall_s", stall_s),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if virtual is not False and not isinstance(virtual, bool | Mapping):
            raise ValueError(f"virtual must be True/False or a mapping, got {virtual!r}")
        self._target = target.strip() if target else None
        self._virtual: dict[str, Any] | None = (
            None if virtual is False else ({} if virtual is True else dict(virtual))
        )
        self._air = air
        self.peer: VirtualPeripheral | None = None
        self._duration_s = duration_s
        self._scan_timeout_s = float(scan_timeout_s)
        self._connect_timeout_s = float(connect_timeout_s)
        self._reconnect_timeout_s = float(reconnect_timeout_s)
        self._stall_s = float(stall_s)
        self.link = LinkStatus()
        self._client: BleakClient | None = None
        self._queue: asyncio.Queue[tuple[str, float, bytes]] = asyncio.Queue()
        self._events: list[Event] = []
        self._closing = False
        self._t0 = 0.0
        self._stream_info: StreamInfo | None = None
        self._reset_epoch()
        self._index = 0
        self._prev_t = -np.inf
        self._first_t: float | None = None
        self._down_since: float | None = None

    # -- driver hooks -------------------------------------------------------------------------

    @abc.abstractmethod
    async def _setup(self, client: BleakClient) -> StreamInfo:
        """After every (re)connection: subscribe with :meth:`_on_notify`, start streaming."""

    @abc.abstractmethod
    def _unpack(self, payload: bytes) -> Packet | None:
        """Decode one notification; None for packets that carry no samples."""

    async def _teardown(self, client: BleakClient) -> None:
        """Before disconnecting on close: stop the device's stream."""

    @classmethod
    def _make_peer(cls, air: Air, options: dict[str, Any]) -> VirtualPeripheral:
        raise BridgeError(f"{cls.profile.label} has no virtual peripheral")

    # -- public -------------------------------------------------------------------------------

    def drain_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    @property
    def link_state(self) -> str:
        return self.link.state

    def _log(self, event: str, detail: str = "", *, save: bool = False) -> None:
        name = self.link.device or self._target or self.profile.label
        link_log().record(self.profile.kind, name, event, detail, save=save)

    # -- opening ------------------------------------------------------------------------------

    def _backend(self) -> dict[str, Any]:
        if self._air is None:
            return {}
        from firmware_bridge.virtual.backend import BumbleClient

        return {"backend": BumbleClient, **self._air.backend_options()}

    def _scanner_backend(self) -> dict[str, Any]:
        if self._air is None:
            return {}
        from firmware_bridge.virtual.backend import BumbleScanner

        return {"backend": BumbleScanner, **self._air.backend_options()}

    async def _open(self) -> StreamInfo:
        self._t0 = asyncio.get_running_loop().time()
        if self._virtual is not None:
            from firmware_bridge.virtual.air import Air

            self._air = Air()
            self.peer = self._make_peer(self._air, dict(self._virtual))
            await self.peer.start()
        try:
            device = await self._find()
            info = await self._connect(device)
        except BaseException:
            await self._shutdown()
            raise
        self._stream_info = info
        return info

    async def _find(self) -> BLEDevice | str:
        target = self._target
        if target and is_address(target):
            return target.upper() if ":" in target else target
        wanted = target or f"any {self.profile.label}"
        self.link.state = "scanning"
        self._log("scan", f"looking for {wanted}")
        loop = asyncio.get_running_loop()
        found: asyncio.Future[BLEDevice] = loop.create_future()
        # without a target, a device used before wins over a stranger seen first
        known = {d.address.upper() for d in recent_devices() if d.kind == self.profile.kind}
        first: list[BLEDevice] = []

        def seen(device: BLEDevice, adv: AdvertisementData) -> None:
            name = adv.local_name or device.name or ""
            if target:
                hit = name.lower() == target.lower() or name.lower().startswith(target.lower())
            else:
                hit = self.profile.matches(name, adv.service_uuids)
            if not hit or found.done():
                return
            if target or not known or device.address.upper() in known:
                found.set_result(device)
            elif not first:
                first.append(device)
                loop.call_later(RECENT_GRACE_S, lambda: found.done() or found.set_result(first[0]))

        try:
            async with BleakScanner(seen, **self._scanner_backend()):
                device = await asyncio.wait_for(found, self._scan_timeout_s)
        except TimeoutError:
            self._log("not_found", wanted, save=True)
            raise DeviceNotFound(
                wanted,
                f"nothing advertised as {self.profile.label} within {self._scan_timeout_s:g} s; "
                "wake the device (press its button), bring it closer, or run `palpate scan`",
            ) from None
        except (BleakError, OSError) as err:
            unavailable = bluetooth_unavailable(err)
            if unavailable is not None:
                raise unavailable from err
            raise DeviceNotFound(wanted, f"scanning failed: {err}") from err
        return device

    async def _connect(self, device: BLEDevice | str) -> StreamInfo:
        if self.link.state != "reconnecting":  # the status says reconnecting until it streams
            self.link.state = "connecting"
        address = device.address if isinstance(device, BLEDevice) else device
        name = (device.name if isinstance(device, BLEDevice) else None) or (
            self.link.device if address == self.link.address and self.link.device else address
        )
        self.link.device, self.link.address = name, address
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnected,
            timeout=self._connect_timeout_s,
            **self._backend(),
        )
        try:
            await asyncio.wait_for(client.connect(), self._connect_timeout_s)
            self._client = client
            info = await self._setup(client)
        except TimeoutError as err:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise DeviceNotFound(name, f"no answer within {self._connect_timeout_s:g} s") from err
        except (BleakError, OSError) as err:
            with contextlib.suppress(Exception):
                await client.disconnect()
            unavailable = bluetooth_unavailable(err)
            if unavailable is not None:
                raise unavailable from err
            raise DeviceNotFound(name, f"{type(err).__name__}: {err}") from err
        self.link.mtu = client.mtu_size
        self.link.state = "streaming"
        self._log("connected", f"{address} mtu {client.mtu_size}", save=True)
        if self._air is None:
            remember(self.profile.kind, address, name)
        return info

    def _on_notify(self, sender: BleakGATTCharacteristic, data: bytearray) -> None:
        """The notification callback drivers subscribe with."""
        self._queue.put_nowait(("data", asyncio.get_running_loop().time(), bytes(data)))

    def _on_disconnected(self, client: BleakClient) -> None:
        if not self._closing:
            self._queue.put_nowait(("down", asyncio.get_running_loop().time(), b""))

    # -- streaming ----------------------------------------------------------------------------

    def _reset_epoch(self) -> None:
        """Forget per-connection clock state (the device clock may restart)."""
        self._aligner = ClockAligner()
        self._next_counter: int | None = None
        self._last_dev: float | None = None
        self._synthetic = 0
        self._last_host: float | None = None
        self._new_epoch = True

    async def _frames(self) -> AsyncIterator[Frame]:
        stalled = False
        while True:
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancel that lands as an item arrives, and a stopping session would hang
                async with asyncio.timeout(self._stall_s):
                    kind, arrival, payload = await self._queue.get()
            except TimeoutError:
                if not stalled:
                    stalled = True
                    self.link.state = "stalled"
                    self._log("stalled", f"no data for {self._stall_s:g} s", save=True)
                continue
            if kind == "down":
                await self._recover(arrival)
                continue
            if stalled:
                stalled = False
                self.link.state = "streaming"
                self._log("resumed")
            frame = self._accept(payload, arrival)
            if frame is None:
                continue
            if self._first_t is None:
                self._first_t = float(frame.t[0])
            yield frame
            if self._duration_s is not None and frame.t[-1] - self._first_t >= self._duration_s:
                return

    def _accept(self, payload: bytes, arrival: float) -> Frame | None:
        self.link.packets += 1
        try:
            packet = self._unpack(payload)
        except DecodeError as err:
            self.link.bad_packets += 1
            if self.link.bad_packets <= 5 or self.link.bad_packets % 100 == 0:
                self._log("bad_packet", f"#{self.link.bad_packets}: {err}")
            return None
        if packet is None:
            return None
        return self._to_frame(packet, arrival - self._t0)

    def _to_frame(self, packet: Packet, host: float) -> Frame | None:
        values = packet.values
        n = values.shape[0]
        rate = self._stream_info.rate_hz if self._stream_info else self.profile.rate_hz
        missing = 0
        if packet.counter is not None:
            if self._next_counter is not None:
                if packet.counter < self._next_counter:
                    if self._next_counter - packet.counter > 10 * rate:  # device restarted
                        self._reset_epoch()
                    else:
                        self.link.late_packets += 1
                        return None
                else:
                    missing = packet.counter - self._next_counter
            self._next_counter = packet.counter + n
            dev = (
                packet.device_t
                if packet.device_t is not None
                else (packet.counter + np.arange(n, dtype=np.float64)) / rate
            )
        elif packet.device_t is not None:
            dev = packet.device_t
            if self._last_dev is not None:
                step = float(dev[0] - self._last_dev)
                if step <= 0:
                    if step < -1.0:  # device clock restarted
                        self._reset_epoch()
                    else:
                        self.link.late_packets += 1
                        return None
                else:
                    missing = max(0, round(step * rate) - 1)
        else:
            if self._last_host is not None and host - self._last_host > max(0.5, 10 / rate):
                self._reset_epoch()  # a long silence: the nominal clock cannot bridge it
            dev = (self._synthetic + np.arange(n, dtype=np.float64)) / rate
            self._synthetic += n
        if self._new_epoch:
            self._aligner.reset()
        self._aligner.add(float(dev[-1]), host)
        t = self._aligner.map(dev)
        if self._new_epoch:
            self._new_epoch = False
            if np.isfinite(self._prev_t):
                missing = max(0, round((t[0] - self._prev_t) * rate) - 1)
        if t[0] <= self._prev_t:
            t = t + (self._prev_t - t[0]) + 1e-6
        self._last_dev = float(dev[-1])
        self._last_host = host
        if missing:
            self.link.lost_samples += missing
        self._index += missing
        frame = Frame(np.ascontiguousarray(t, np.float64), values, self._index)
        self._index += n
        self._prev_t = float(t[-1])
        self.link.arrived(n)
        if self._down_since is not None:
            down_s = round(float(t[0]) - self._down_since, 3)
            self._events.append(
                Event(
                    float(t[0]),
                    EventKind.RECONNECT,
                    {"device": self.link.device, "down_s": down_s, "missing": missing},
                )
            )
            self._down_since = None
        return frame

    async def _recover(self, when: float) -> None:
        """Reconnect with backoff after the link dropped at loop time ``when``."""
        if self._down_since is None:
            self._down_since = self._prev_t if np.isfinite(self._prev_t) else when - self._t0
        self.link.state = "reconnecting"
        self._log("link_lost", "the device dropped the link", save=True)
        loop = asyncio.get_running_loop()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
        delay, attempts = 0.1, 0
        while True:
            attempts += 1
            try:
                await self._connect(self._target_for_reconnect())
                break
            except BluetoothUnavailable:
                raise
            except (BridgeError, BleakError, OSError) as err:
                self._log("reconnect_failed", f"attempt {attempts}: {err}")
            waited = loop.time() - when
            if waited + delay > self._reconnect_timeout_s:
                self.link.state = "lost"
                self._log("gave_up", f"after {attempts} attempts", save=True)
                raise LinkLost(self.link.device or self.link.address, waited, attempts)
            await asyncio.sleep(delay)
            delay = min(2 * delay, 2.0)
        self.link.reconnects += 1
        self._reset_epoch()
        self._log("reconnected", f"after {attempts} attempts", save=True)

    def _target_for_reconnect(self) -> str:
        return self.link.address

    # -- closing ------------------------------------------------------------------------------

    async def _close(self) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        self._closing = True
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._teardown(client), 2.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5.0)
        if self.peer is not None:
            with contextlib.suppress(Exception):
                await self.peer.stop()
        if self.link.state != "new":
            self.link.state = "closed"
            link = self.link
            rate = "" if np.isnan(link.rate_hz) else f", {link.rate_hz:.1f} Hz measured"
            self._log(
                "closed",
                f"{link.packets} packets, {link.bad_packets} bad, {link.late_packets} late, "
                f"{link.lost_samples} samples lost, {link.reconnects} reconnects{rate}",
            )
            link_log().save()
