"""Virtual GATT peripherals: the base class, the signals they stream and faults on demand.

A :class:`VirtualPeripheral` is a bumble device on an :class:`~firmware_bridge.virtual.air.Air`
that advertises like the real product, serves its GATT database and, once the
central starts it (a command write, or a subscription), streams packets paced to
the wall clock. Subclasses (in :mod:`firmware_bridge.virtual.peers`) say which
services to serve and how samples become packets, with the same encoders the
drivers' decoders are tested against.

:class:`Faults` injects what real links do: drop the link at a given time (and come
back after ``down_s``), stall notifications, send malformed or truncated packets,
duplicate or reorder packets, run the device clock fast or slow.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, Service
from numpy.typing import NDArray

from analysis.stream import Frame
from firmware_bridge.devices.simulator import SimulatedPad
from firmware_bridge.virtual.air import Air

__all__ = ["ArraySignal", "Faults", "Signal", "SimSignal", "VirtualPeripheral"]


@dataclass(frozen=True, slots=True)
class Faults:
    """Faults a virtual peripheral injects (all off by default).

    Parameters
    ----------
    drop_at_s : float, optional
        Seconds after streaming starts at which the peripheral drops the link.
    down_s : float
        Seconds it then stays away (not advertising) before it can be reconnected.
    drops : int
        How many times to drop (each ``drop_at_s`` after the previous start).
    stall_at_s, stall_s : float
        Stop notifying (link up) at ``stall_at_s`` for ``stall_s`` seconds.
    malformed_every, truncate_every, duplicate_every, reorder_every : int
        Every N-th packet is replaced by random bytes, cut short, sent twice, or
        swapped with the next one (0: never).
    drift_ppm : float
        The device clock runs fast by this many parts per million (samples come
        that much faster than their timestamps say).
    seed : int
        Seed of the random bytes.
    """

    drop_at_s: float | None = None
    down_s: float = 0.3
    drops: int = 1
    stall_at_s: float | None = None
    stall_s: float = 1.0
    malformed_every: int = 0
    truncate_every: int = 0
    duplicate_every: int = 0
    reorder_every: int = 0
    drift_ppm: float = 0.0
    seed: int = 0

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> Faults:
        """Build from a plain dict (e.g. CLI or registry options); unknown keys are refused."""
        options = dict(options or {})
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault options {sorted(unknown)}")
        return cls(**options)


class Signal(abc.ABC):
    """Where a virtual peripheral's samples come from, in the device's own units."""

    rate_hz: float
    columns: int

    @abc.abstractmethod
    async def take(self, n: int) -> NDArray[np.float64]:
        """The next ``n`` samples, shape (n, columns)."""


class ArraySignal(Signal):
    """Replays an array (a real recording), looping at its end."""

    def __init__(self, values: NDArray[np.float64], rate_hz: float) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.shape[0] < 2:
            raise ValueError("ArraySignal needs at least two samples")
        self.values = values
        self.rate_hz = float(rate_hz)
        self.columns = values.shape[1]
        self._pos = 0

    async def take(self, n: int) -> NDArray[np.float64]:
        rows = (self._pos + np.arange(n)) % self.values.shape[0]
        self._pos = int((self._pos + n) % self.values.shape[0])
        return self.values[rows]


class SimSignal(Signal):
    """The built-in simulated pad, endless, scaled per column (e.g. N -> kg)."""

    def __init__(
        self,
        *,
        rate_hz: float = 100.0,
        channels: int = 1,
        accel: bool = False,
        seed: int = 0,
        scale: NDArray[np.float64] | float = 1.0,
        area_cm2: float = 2.0,
    ) -> None:
        self._pad = SimulatedPad(
            rate_hz=rate_hz,
            channels=channels,
            accel=accel,
            seed=seed,
            realtime=False,
            block_s=0.25,
            area_cm2=area_cm2,
        )
        self.rate_hz = float(rate_hz)
        self.columns = channels + (3 if accel else 0)
        self._scale = np.broadcast_to(np.asarray(scale, np.float64), (self.columns,))
        self._frames: AsyncIterator[Frame] | None = None
        self._buffer = np.zeros((0, self.columns))

    async def take(self, n: int) -> NDArray[np.float64]:
        if self._frames is None:
            await self._pad.__aenter__()
            self._frames = self._pad.frames()
        while self._buffer.shape[0] < n:
            frame = await anext(self._frames)
            self._buffer = np.concatenate([self._buffer, frame.x.astype(np.float64)])
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out * self._scale

    async def aclose(self) -> None:
        if self._frames is not None:
            await self._pad.__aexit__(None, None, None)


class VirtualPeripheral(abc.ABC):
    """A virtual BLE peripheral: advertising, a GATT server and a paced packet stream.

    Parameters
    ----------
    air : Air
        Where it lives.
    name : str
        Advertised local name.
    signal : Signal
        Its samples.
    faults : Faults, optional
    tick_s : float
        Seconds between streaming wake-ups (a packet or a few each).
    """

    service_uuid: str = ""

    def __init__(
        self,
        air: Air,
        name: str,
        signal: Signal,
        *,
        faults: Faults | None = None,
        tick_s: float = 0.02,
    ) -> None:
        self.air = air
        self.name = name
        self.signal = signal
        self.faults = faults or Faults()
        self.tick_s = float(tick_s)
        self.address = air.next_address()
        self.device: Device = air.new_device(name, self.address)
        self.packets_sent = 0
        self.samples_sent = 0
        self.drops_done = 0
        self.error: Exception | None = None
        self.commands: list[bytes] = []
        self._task: asyncio.Task[None] | None = None
        self._comeback: asyncio.Task[None] | None = None
        self._rng = np.random.default_rng(self.faults.seed)
        self._reordered: bytes | None = None
        self._closed = False
        self._background: set[asyncio.Task[Any]] = set()

    # -- subclass hooks ---------------------------------------------------------------------------

    @abc.abstractmethod
    def services(self) -> list[Service]:
        """The GATT services to serve."""

    @abc.abstractmethod
    def packets(self, values: NDArray[np.float64], first: int) -> list[bytes]:
        """Encode samples ``first .. first + n`` (shape (n, columns)) into packets."""

    @property
    @abc.abstractmethod
    def data_characteristic(self) -> Characteristic:
        """The characteristic packets are notified on."""

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Power on and advertise."""
        for service in self.services():
            self.device.add_service(service)
        await self.device.power_on()
        structures: list[tuple[int, bytes]] = [
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
        ]
        if self.service_uuid:
            uuid = UUID(self.service_uuid)
            sig = self.service_uuid.lower().endswith("-0000-1000-8000-00805f9b34fb")
            listed = (
                (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, bytes(uuid)[12:14])
                if sig
                else (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, bytes(uuid))
            )
            # the scan response carries the service; bumble's virtual controller answers
            # scans with the advertising data, so the service goes there too when it fits
            self.device.scan_response_data = bytes(AdvertisingData([listed]))
            if sum(2 + len(d) for _, d in structures) + 2 + len(listed[1]) <= 31:
                structures.append(listed)
        self.device.advertising_data = bytes(AdvertisingData(structures))
        self.device.on("connection", self._on_connection)
        await self.device.start_advertising(advertising_interval_min=20, auto_restart=False)

    async def stop(self) -> None:
        """Stop streaming, drop any link and leave the air."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._comeback is not None:  # let an HCI command in flight finish, never cancel it
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._comeback), 2.0)
        for connection in list(self.device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect()
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        closer = getattr(self.signal, "aclose", None)
        if closer is not None:
            await closer()
        self.air.release(self.device)

    def _on_connection(self, connection: Connection) -> None:
        connection.on("disconnection", lambda reason: self._on_disconnection())

    def _on_disconnection(self) -> None:
        self.stop_streaming()
        if not self._closed and self._comeback is None:
            self._comeback = asyncio.get_running_loop().create_task(self._advertise_again(0.0))

    async def _advertise_again(self, delay_s: float) -> None:
        try:
            await asyncio.sleep(delay_s)
            if not self._closed and not self.device.connections:
                with contextlib.suppress(Exception):
                    await self.device.start_advertising(
                        advertising_interval_min=20, auto_restart=False
                    )
        finally:
            self._comeback = None

    # -- streaming ----------------------------------------------------------------------------

    def start_streaming(self) -> None:
        """Begin the paced packet stream (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._stream())

    def _spawn(self, coro: Any) -> None:
        """Run a coroutine in the background (from a synchronous GATT callback)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def stop_streaming(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        speed = 1.0 + self.faults.drift_ppm * 1e-6
        stall_at = self.faults.stall_at_s
        try:
            while True:
                await asyncio.sleep(self.tick_s)
                elapsed = loop.time() - start
                if (
                    self.faults.drop_at_s is not None
                    and self.drops_done < self.faults.drops
                    and elapsed >= self.faults.drop_at_s
                ):
                    self.drops_done += 1
                    await self._drop()
                    return
                if stall_at is not None and stall_at <= elapsed < stall_at + self.faults.stall_s:
                    continue
                due = int(elapsed * self.signal.rate_hz * speed) - sent
                if due <= 0:
                    continue
                values = await self.signal.take(due)
                for packet in self.packets(values, sent):
                    await self._send(packet)
                sent += due
                self.samples_sent += due
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a peer bug must show, not look like a stalled device
            self.error = err
            raise

    async def _send(self, packet: bytes) -> None:
        f = self.faults
        self.packets_sent += 1
        k = self.packets_sent
        if f.malformed_every and k % f.malformed_every == 0:
            size = int(self._rng.integers(1, max(2, len(packet) + 8)))
            packet = self._rng.integers(0, 256, size).astype(np.uint8).tobytes()
        elif f.truncate_every and k % f.truncate_every == 0 and len(packet) > 1:
            packet = packet[: int(self._rng.integers(1, len(packet)))]
        if f.reorder_every and k % f.reorder_every == 0 and self._reordered is None:
            self._reordered = packet
            return
        await self._notify(packet)
        if self._reordered is not None:
            held, self._reordered = self._reordered, None
            await self._notify(held)
        if f.duplicate_every and k % f.duplicate_every == 0:
            await self._notify(packet)

    async def _notify(self, packet: bytes) -> None:
        await self.device.notify_subscribers(self.data_characteristic, packet)

    async def _drop(self) -> None:
        """Drop the link like a device walking out of range, come back after ``down_s``."""
        self._task = None  # this very task ends here; the disconnection must not cancel it
        self._comeback = asyncio.get_running_loop().create_task(
            self._advertise_again(self.faults.down_s)
        )
        for connection in list(self.device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect()

    def on_subscription(self, start: Callable[[], None] | None = None) -> Callable[..., None]:
        """A ``subscription`` handler that starts streaming when notifications are enabled."""

        def handler(connection: Connection, notify: bool, indicate: bool = False) -> None:
            if notify or indicate:
                (start or self.start_streaming)()
            else:
                self.stop_streaming()

        return handler
