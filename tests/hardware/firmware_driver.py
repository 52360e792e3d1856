"""Run the firmware's pure modules over the shared vectors and a scripted stream.

This file runs unchanged under CPython and under MicroPython (the test writes it into
the MicroPython file system next to ``padfw``), so it sticks to what both have: no
f-strings, no dataclasses, no typing, integers only in its output. :func:`run`
returns plain data; the test compares the two interpreters' results byte for byte.
"""

import binascii
import json

from padfw import calib, protocol
from padfw.sampler import Sampler
from padfw.schedule import Schedule


def _hex(data):
    return binascii.hexlify(bytes(data)).decode()


def _commands(cases):
    out = []
    for case in cases:
        data = binascii.unhexlify(case["hex"])
        try:
            op, arg = protocol.parse_command(data)
            out.append([op, arg])
        except protocol.CommandError as err:
            out.append(["refused", err.code])
    return out


def stream(seconds=2, rate_hz=1000, per_packet=16, capacity=60):
    """A scripted streaming run: a jittery, sometimes stalled timer; a radio that is
    sometimes busy; a ring small enough to overflow. Returns the packets sent."""
    schedule = Schedule(rate_hz, 5000, max_burst=50)
    sampler = Sampler(4, True, False, capacity)
    buf = bytearray(244)
    row = [0] * 7
    now = 5000
    seed = 12345
    attempts = 0
    packets = []
    end = 5000 + seconds * 1000000
    while now < end:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        step = 600 + seed % 900
        if seed % 97 == 0:
            step += 30000
        if seed % 389 == 0:
            step += 80000
        now += step
        first, count, skipped = schedule.due(now)
        sampler.lost(skipped)
        for k in range(first, first + count):
            for i in range(7):
                row[i] = (k * (i + 3) + i * 1000) % 65536 - 32768
            sampler.push(k, row)
        while True:
            length, rows = sampler.peek(buf, per_packet, schedule.period_us)
            if not length:
                break
            attempts += 1
            if attempts % 7 == 0:
                break  # the radio's queue is full this time
            packets.append(_hex(buf[:length]))
            sampler.consume(rows)
    return {
        "packets": packets,
        "taken": schedule.next,
        "skipped": schedule.skipped,
        "dropped": sampler.dropped,
    }


def tables(calibration_text, n_force):
    """Every 16th entry and the sum of each channel's lookup table."""
    cal = calib.Calibration(calibration_text, n_force, 4095, protocol.FORCE_LSB_N)
    out = []
    for table in cal.tables:
        out.append({"every_16th": [table[i] for i in range(0, 4096, 16)], "sum": sum(table)})
    return out


class FakeLink:
    """A connected central: takes notifications, refuses every 9th (a full radio queue)."""

    def __init__(self):
        self.mtu = 247
        self.connected = True
        self.packets = []
        self.offers = 0

    def notify(self, buf, length):
        self.offers += 1
        if self.offers % 9 == 0:
            return False
        self.packets.append(_hex(buf[:length]))
        return True


class FakeRadio:
    def __init__(self):
        self.info = b""
        self.battery = None
        self.on_command = None

    def set_info(self, data):
        self.info = data

    def set_battery(self, percent):
        self.battery = percent


class FakeHal:
    """A deterministic HAL: a manual clock, ADC counts that follow the sample clock."""

    n_force = 4
    adc_max = 4095
    has_accel = True
    max_rate_hz = 1000

    def __init__(self, files):
        self.files = files
        self.radio = FakeRadio()
        self.clock = 1000
        self.callback = None
        self.logs = []
        self.modes = []
        self.reads = 0

    def now_us(self):
        return self.clock

    def read_forces(self, out):
        self.reads += 1
        for i in range(4):
            out[i] = (self.clock // 700 + 300 * i) % 4096

    def read_accel(self, out, offset):
        out[offset] = 5
        out[offset + 1] = -7
        out[offset + 2] = 1001

    def accel_power(self, on):
        self.modes.append("acc on" if on else "acc off")

    def start_timer(self, rate_hz, callback):
        self.callback = callback

    def stop_timer(self):
        self.callback = None

    def battery_mv(self):
        return 3900

    def read_file(self, name):
        return self.files.get(name)

    def write_file(self, name, text):
        self.files[name] = text

    def power(self, mode):
        self.modes.append(mode)

    def log(self, text):
        self.logs.append(text)


def app_session(calibration_text):
    """The pad app itself: commands, the timer and the sender, on a manual clock."""
    from padfw.app import PadApp

    files = {"calibration.json": calibration_text, "pad.json": '{"ring_rows": 24}'}
    hal = FakeHal(files)
    app = PadApp(hal, "ABCD")
    link = FakeLink()
    app.link = link
    results = []
    infos = [_hex(hal.radio.info)]
    for command in (b"\x03\xf4\x01", b"\x05\x01", b"\x05\x07", b"\x01"):
        results.append(app.command(command))
        infos.append(_hex(hal.radio.info))
    seed = 99
    end = hal.clock + 1500000
    tared = False
    while hal.clock < end:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        hal.clock += 300 + seed % 4000 + (60000 if seed % 151 == 0 else 0)
        if hal.callback is not None:
            hal.callback()
        if seed % 3 == 0:
            app.pump()
        if not tared and hal.clock > end - 700000:
            results.append(app.command(b"\x04"))
            tared = True
    app.update_battery()
    return {
        "results": results,
        "infos": infos,
        "packets": link.packets,
        "reads": hal.reads,
        "tare": app.tare,
        "battery": hal.radio.battery,
        "logs": hal.logs,
        "modes": hal.modes,
        "dropped": app.sampler.dropped,
        "busy": app.busy_retries,
    }


def run(vectors_text, calibration_text, n_force):
    """Everything the test compares, as plain data."""
    v = json.loads(vectors_text)
    data = []
    for c in v["data"]:
        packet = protocol.encode_data(
            c["flags"],
            c["n_force"],
            c["accel"],
            c["seq"],
            c["first_sample"],
            c["t_us"],
            c["period_us"],
            c["rows"],
        )
        data.append(_hex(packet))
    info = []
    for c in v["info"]:
        packet = protocol.encode_info(
            c["firmware"],
            c["n_force"],
            c["flags"],
            c["rate_hz"],
            c["max_rate_hz"],
            c["force_lsb_n"],
            c["acc_lsb_mg"],
            c["calibrated_unix"],
            c["side_mm"],
            c["positions_mm"],
            c["name"],
            c["last_opcode"],
            c["last_result"],
        )
        info.append(_hex(packet))
    sizes = [
        protocol.samples_per_packet(c["mtu"], c["n_force"], c["accel"], c["rate_hz"])
        for c in v["samples_per_packet"]
    ]
    rates = [protocol.nearest_rate(asked, 1000) for asked in (1, 10, 33, 90, 120, 300, 999, 5000)]
    return {
        "data": data,
        "info": info,
        "commands": _commands(v["commands"]),
        "samples_per_packet": sizes,
        "rates": rates,
        "stream": stream(),
        "tables": tables(calibration_text, n_force),
        "app": app_session(calibration_text),
    }
