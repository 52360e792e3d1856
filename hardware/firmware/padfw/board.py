"""The HAL of the real pad: Seeed XIAO ESP32-S3, 4 FSR dividers, an LSM6DS3TR-C, aioble.

MicroPython only (``machine``, ``bluetooth``, ``aioble``). Pins are those of
``hardware/README.md`` and can be changed in ``pad.json`` (``"pins": {...}``):

========  ========  ===========================================================
what      GPIO      XIAO pad
========  ========  ===========================================================
FSR 1-4   1, 2, 3, 4  D0, D1, D2, D3 (ADC1 channels 0-3, 11 dB: 0-3.1 V)
I2C SDA   5         D4 (accelerometer)
I2C SCL   6         D5
battery   7         D8 (ADC1 channel 6, through a 2 × 220 kΩ divider)
wake      0         BOOT button (wakes the pad from deep sleep)
========  ========  ===========================================================

The timer is ``machine.Timer(0)`` at the sample rate; on the ESP32 its callback is a
soft interrupt, which may run late while the radio or the garbage collector holds the
CPU: the firmware's schedule (``padfw.schedule``) then takes every sample that came
due, stamped with its exact grid time.
"""

import json
import struct
import time

import machine

try:
    import asyncio
except ImportError:  # MicroPython before 1.21
    import uasyncio as asyncio

import aioble
import bluetooth

from padfw import protocol

PINS = {"fsr": [1, 2, 3, 4], "sda": 5, "scl": 6, "battery": 7, "wake": 0}

_IMU_ADDR = 0x6A
_WHO_AM_I = 0x0F
_CTRL1_XL = 0x10
_CTRL3_C = 0x12
_OUTX_L_XL = 0x28
_XL_1K66_4G = 0x88  # 1.66 kHz output rate, ±4 g: 0.122 mg per count


class Imu:
    """LSM6DS3TR-C accelerometer over I2C (the XIAO nRF52840 Sense's and many breakouts')."""

    def __init__(self, i2c):
        self.i2c = i2c
        self.buf = bytearray(6)
        if i2c.readfrom_mem(_IMU_ADDR, _WHO_AM_I, 1)[0] not in (0x69, 0x6A, 0x6C):
            raise OSError("no LSM6DS3 at 0x6A")
        i2c.writeto_mem(_IMU_ADDR, _CTRL3_C, b"\x44")  # block data update, auto-increment
        self.power(False)

    def power(self, on):
        self.i2c.writeto_mem(_IMU_ADDR, _CTRL1_XL, bytes([_XL_1K66_4G if on else 0]))

    def read(self, out, offset):
        self.i2c.readfrom_mem_into(_IMU_ADDR, _OUTX_L_XL, self.buf)
        x, y, z = struct.unpack("<hhh", self.buf)
        out[offset] = x * 122 // 1000
        out[offset + 1] = y * 122 // 1000
        out[offset + 2] = z * 122 // 1000


class Link:
    """One connected central, as ``padfw.app`` sees it."""

    def __init__(self, connection, data_char):
        self.connection = connection
        self.data_char = data_char
        self.view = None

    @property
    def mtu(self):
        return self.connection.mtu or 23

    @property
    def connected(self):
        return self.connection.is_connected()

    def notify(self, buf, length):
        if self.view is None:
            self.view = memoryview(buf)
        try:
            self.data_char.notify(self.connection, self.view[:length])
            return True
        except OSError:  # the stack's buffers are full: try again later
            return False


class Radio:
    """The pad's GATT server with aioble: pad service and Battery Service."""

    def __init__(self):
        aioble.config(mtu=247)
        self.on_command = None
        service = aioble.Service(bluetooth.UUID(protocol.SERVICE_UUID))
        self.data = aioble.Characteristic(service, bluetooth.UUID(protocol.DATA_UUID), notify=True)
        self.control = aioble.Characteristic(
            service, bluetooth.UUID(protocol.CONTROL_UUID), write=True, capture=True
        )
        self.info = aioble.Characteristic(service, bluetooth.UUID(protocol.INFO_UUID), read=True)
        battery = aioble.Service(bluetooth.UUID(protocol.BATTERY_SERVICE_UUID))
        self.battery = aioble.Characteristic(
            battery, bluetooth.UUID(protocol.BATTERY_LEVEL_UUID), read=True, notify=True
        )
        aioble.register_services(service, battery)
        self.connection = None

    def set_info(self, data):
        self.info.write(data)

    def set_battery(self, percent):
        self.battery.write(bytes([percent]))
        if self.connection is not None and self.connection.is_connected():
            try:
                self.battery.notify(self.connection)
            except OSError:
                pass

    async def advertise(self, name, interval_ms):
        try:
            connection = await aioble.advertise(
                interval_ms * 1000,
                name=name,
                services=[bluetooth.UUID(protocol.SERVICE_UUID)],
                timeout_ms=60000,
            )
        except asyncio.TimeoutError:
            return None
        self.connection = connection
        asyncio.create_task(self._commands(connection))
        return Link(connection, self.data)

    async def _commands(self, connection):
        while connection.is_connected():
            try:
                _, data = await self.control.written(timeout_ms=1000)
            except asyncio.TimeoutError:
                continue
            if data and self.on_command is not None:
                self.on_command(data)  # aioble cannot refuse a write: the result goes to info


class Board:
    """The HAL ``padfw.app.PadApp`` runs on."""

    adc_max = 4095
    max_rate_hz = 1000

    def __init__(self, config=None):
        pins = dict(PINS)
        pins.update((config or {}).get("pins", {}))
        self.adcs = [machine.ADC(machine.Pin(p), atten=machine.ADC.ATTN_11DB) for p in pins["fsr"]]
        self.n_force = len(self.adcs)
        self.battery_adc = machine.ADC(machine.Pin(pins["battery"]), atten=machine.ADC.ATTN_11DB)
        self.wake_pin = machine.Pin(pins["wake"], machine.Pin.IN, machine.Pin.PULL_UP)
        try:
            self.imu = Imu(machine.I2C(0, sda=machine.Pin(pins["sda"]), scl=machine.Pin(pins["scl"]),
                                       freq=400000))
        except OSError:
            self.imu = None
        self.has_accel = self.imu is not None
        self.radio = Radio()
        self.timer = machine.Timer(0)
        self._last = time.ticks_us()
        self._clock = 0

    def now_us(self):
        t = time.ticks_us()
        self._clock += time.ticks_diff(t, self._last)
        self._last = t
        return self._clock

    def read_forces(self, out):
        adcs = self.adcs
        for i in range(len(adcs)):
            out[i] = adcs[i].read_u16() >> 4

    def read_accel(self, out, offset):
        if self.imu is not None:
            self.imu.read(out, offset)

    def accel_power(self, on):
        if self.imu is not None:
            self.imu.power(on)

    def start_timer(self, rate_hz, callback):
        self.timer.init(mode=machine.Timer.PERIODIC, freq=rate_hz, callback=lambda t: callback())

    def stop_timer(self):
        self.timer.deinit()

    async def sleep_ms(self, ms):
        await asyncio.sleep_ms(ms)

    def battery_mv(self):
        return self.battery_adc.read_uv() * 2 // 1000

    def read_file(self, name):
        try:
            with open(name) as f:
                return f.read()
        except OSError:
            return None

    def write_file(self, name, text):
        with open(name, "w") as f:
            f.write(text)

    def power(self, mode):
        if mode == "active":
            machine.freq(240000000)
        elif mode == "idle":
            machine.freq(80000000)
        elif mode == "sleep":
            import esp32

            esp32.wake_on_ext0(pin=self.wake_pin, level=0)
            machine.deepsleep()

    def log(self, text):
        print("pad:", text)


def serial():
    """Four hex digits from the chip's unique id (``3F2A``)."""
    uid = machine.unique_id()
    return "%02X%02X" % (uid[-2], uid[-1])


async def main():
    from padfw.app import CONFIG_FILE, PadApp

    config = {}
    try:
        with open(CONFIG_FILE) as f:
            config = json.loads(f.read())
    except (OSError, ValueError):
        pass
    hal = Board(config)
    app = PadApp(hal, serial())
    hal.log("%s: %d force channels, accelerometer %s, %s" % (
        app.name, hal.n_force, "yes" if hal.has_accel else "no",
        "calibrated" if app.calibration else "raw counts (no calibration.json)"))
    await app.run()
