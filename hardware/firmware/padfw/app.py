"""The pad: advertising, commands, timer-driven sampling, notifications, battery, idle.

:class:`PadApp` is written against a small HAL (the ``hal`` argument), so the same
code runs on the board (``padfw.board``) and on CPython
(``firmware_bridge.virtual.pad_firmware``: a fake ADC and IMU and a bumble GATT
server). The HAL provides:

========================  ==========================================================
``n_force``, ``adc_max``  wired force channels, largest ADC reading
``has_accel``             whether an accelerometer is fitted
``max_rate_hz``           fastest rate the board samples reliably
``read_forces(out)``      raw ADC counts of every force channel into ``out[:n_force]``
``read_accel(out, i)``    acceleration x, y, z in milli-g into ``out[i:i + 3]``
``accel_power(on)``       power the accelerometer up or down
``now_us()``              a monotonic microsecond clock (an unbounded int)
``start_timer(hz, cb)``   call ``cb()`` about ``hz`` times a second; ``stop_timer()``
``sleep_ms(ms)``          an awaitable pause
``battery_mv()``          battery voltage, mV (None when not measured)
``read_file(name)``       a stored file's text or None; ``write_file(name, text)``
``power(mode)``           ``"active"``, ``"idle"`` (advertising) or ``"sleep"``
``radio``                 the BLE side, see below
``log(text)``             a line for the serial console
========================  ==========================================================

``radio`` has ``set_info(bytes)``, ``set_battery(percent)``, ``on_command`` (set by
the app: a synchronous function ``bytes -> result code``; a stack that can refuse
writes answers a non-zero code with that ATT error) and ``await advertise(name,
interval_ms)``, which returns a link once a central connects. A link has ``mtu``,
``connected`` (a bool), ``notify(buf, length)`` (True when the radio took the
notification, False when its queue is full) and ``await closed()``.

The timer only records: it takes the samples the :class:`~padfw.schedule.Schedule`
says are due, converts them (calibration lookup, tare) and pushes them into the
:class:`~padfw.sampler.Sampler` ring. The sender, an ordinary task, cuts the ring
into notifications. Idle (no central) the pad advertises slowly with the
accelerometer powered down and the CPU clocked down, and goes to deep sleep after
``sleep_after_s`` without a connection.
"""

import json

from padfw import VERSION, calib, protocol
from padfw.sampler import Sampler
from padfw.schedule import Schedule

DEFAULTS = {
    "name": "palpate-pad",
    "rate_hz": 1000,
    "accel": True,
    "side_mm": 60,
    "positions_mm": [[-20, -20], [20, -20], [-20, 20], [20, 20]],
    "advertise_ms": 100,
    "idle_advertise_ms": 500,
    "sleep_after_s": 600,
    "ring_rows": 200,
    "tare_s": 0.25,
}
"""Settings; ``pad.json`` on the pad's flash overrides any of them."""

CONFIG_FILE = "pad.json"


def battery_percent(mv):
    """A single-cell LiPo's charge from its resting voltage, percent (coarse table)."""
    curve = ((4200, 100), (4100, 90), (4000, 78), (3900, 64), (3800, 50), (3750, 40))
    curve += ((3700, 28), (3650, 18), (3600, 10), (3500, 4), (3300, 0))
    if mv >= curve[0][0]:
        return 100
    for i in range(1, len(curve)):
        v1, p1 = curve[i]
        if mv >= v1:
            v0, p0 = curve[i - 1]
            return p1 + (p0 - p1) * (mv - v1) // (v0 - v1)
    return 0


class PadApp:
    """The pad's firmware logic.

    Parameters
    ----------
    hal : object
        The hardware (see the module docstring).
    serial : str
        Short unique id, appended to the advertised name (``palpate-pad 3F2A``).
    """

    def __init__(self, hal, serial="0000"):
        self.hal = hal
        self.config = dict(DEFAULTS)
        text = hal.read_file(CONFIG_FILE)
        if text:
            try:
                self.config.update(json.loads(text))
            except ValueError:
                hal.log("pad.json is not valid JSON; using the defaults")
        self.n_force = hal.n_force
        self.name = "%s %s" % (self.config["name"], serial)
        self.serial = serial
        self.max_rate_hz = protocol.nearest_rate(hal.max_rate_hz, hal.max_rate_hz)
        self.rate_hz = protocol.nearest_rate(self.config["rate_hz"], self.max_rate_hz)
        self.accel_on = bool(hal.has_accel and self.config["accel"])
        self.calibration, problem = calib.load(
            hal.read_file, self.n_force, hal.adc_max, protocol.FORCE_LSB_N
        )
        if problem:
            hal.log("calibration not used: " + problem)
        self.calibration_problem = problem
        self.tare = [0] * self.n_force
        self._tare_sum = [0] * self.n_force
        self._tare_left = 0
        self._tare_n = 0
        self.last_opcode = 0
        self.last_result = 0
        self.streaming = False
        self.link = None
        self.schedule = None
        self.sampler = None
        self.per_packet = 0
        self.packets_sent = 0
        self.busy_retries = 0
        self._raw = [0] * self.n_force
        self._row = [0] * (self.n_force + 3)
        self._buf = bytearray(244)
        self._new_sampler()
        hal.radio.on_command = self.command
        self.publish_info()

    # -- state ------------------------------------------------------------------------------

    @property
    def raw(self):
        """Forces go out as ADC counts (no usable calibration on the pad)."""
        return self.calibration is None

    def _new_sampler(self):
        self.sampler = Sampler(
            self.n_force, self.accel_on, self.raw, int(self.config["ring_rows"])
        )

    def info(self):
        """The info characteristic's bytes."""
        flags = (
            (protocol.INFO_HAS_ACC if self.hal.has_accel else 0)
            | (protocol.INFO_RAW if self.raw else protocol.INFO_CALIBRATED)
            | (protocol.INFO_ACC_ON if self.accel_on else 0)
        )
        return protocol.encode_info(
            VERSION,
            self.n_force,
            flags,
            self.rate_hz,
            self.max_rate_hz,
            1.0 if self.raw else protocol.FORCE_LSB_N,
            protocol.ACC_LSB_MG,
            self.calibration.created_unix if self.calibration else 0,
            int(self.config["side_mm"]),
            self.config["positions_mm"],
            self.serial,
            self.last_opcode,
            self.last_result,
        )

    def publish_info(self):
        self.hal.radio.set_info(self.info())

    # -- commands -----------------------------------------------------------------------------

    def command(self, data):
        """Carry out one control write; returns the result code (0 = done)."""
        try:
            op, arg = protocol.parse_command(bytes(data))
            self._do(op, arg)
            result = protocol.OK
        except protocol.CommandError as err:
            op = data[0] if data else 0
            result = err.code
            self.hal.log("command refused: " + str(err))
        self.last_opcode, self.last_result = op, result
        self.publish_info()
        return result

    def _do(self, op, arg):
        if op == protocol.OP_START:
            mtu = self.link.mtu if self.link is not None else 23
            per = protocol.samples_per_packet(mtu, self.n_force, self.accel_on, self.rate_hz)
            if per < 1:
                raise protocol.CommandError(protocol.ERR_MTU, "MTU %d too small" % mtu)
            self.start(per)
        elif op == protocol.OP_STOP:
            self.streaming = False
        elif op == protocol.OP_SET_RATE:
            self.rate_hz = protocol.nearest_rate(arg, self.max_rate_hz)
        elif op == protocol.OP_TARE:
            self.start_tare()
        elif op == protocol.OP_SET_ACCEL:
            if arg and not self.hal.has_accel:
                raise protocol.CommandError(protocol.ERR_ARGUMENT, "this pad has no accelerometer")
            self.accel_on = bool(arg)

    def start(self, per_packet):
        """START: counters to 0, sample 0 due now, packets of ``per_packet`` samples."""
        if self.sampler.accel != self.accel_on:
            self._new_sampler()
        self.sampler.reset()
        self.per_packet = per_packet
        self.hal.accel_power(self.accel_on)
        self._restart_timer()
        self.streaming = True

    def start_tare(self):
        """TARE: average the next ``tare_s`` of every force channel, subtract it after.

        With raw counts (no calibration on the pad) there is nothing to subtract
        from: the divider's open level is part of palpate's calibration, and
        palpate tares in software.
        """
        if self.raw:
            return
        if self.schedule is None:
            self._restart_timer()
        self._tare_sum = [0] * self.n_force
        self._tare_n = 0
        self._tare_left = max(1, int(self.rate_hz * float(self.config["tare_s"])))

    def _restart_timer(self):
        self.hal.stop_timer()
        self.schedule = Schedule(self.rate_hz, self.hal.now_us(), max_burst=50)
        self.hal.start_timer(self.rate_hz, self.tick)

    # -- the timer ----------------------------------------------------------------------------

    def tick(self):
        """Timer callback: take every sample that came due."""
        schedule = self.schedule
        if schedule is None:
            return
        first, count, skipped = schedule.due(self.hal.now_us())
        if not (self.streaming or self._tare_left):
            return
        if skipped and self.streaming:
            self.sampler.lost(skipped)
        raw, row, n = self._raw, self._row, self.n_force
        for k in range(first, first + count):
            self.hal.read_forces(raw)
            if self.calibration is None:
                for i in range(n):
                    row[i] = raw[i]
            else:
                self.calibration.convert(raw, row)
                if self._tare_left:
                    self._add_tare(row)
                for i in range(n):
                    row[i] -= self.tare[i]
            if self.streaming:
                if self.accel_on:
                    self.hal.read_accel(row, n)
                self.sampler.push(k, row)

    def _add_tare(self, forces):
        for i in range(self.n_force):
            self._tare_sum[i] += forces[i]
        self._tare_n += 1
        self._tare_left -= 1
        if self._tare_left == 0:
            half = self._tare_n // 2
            self.tare = [(s + half) // self._tare_n for s in self._tare_sum]
            self.hal.log("tare: %s (0.01 N)" % self.tare)

    # -- the sender ---------------------------------------------------------------------------

    def pump(self):
        """Send every packet that is due; returns how many went out."""
        sent = 0
        if self.schedule is None or self.link is None:
            return 0
        period = self.schedule.period_us
        while self.streaming:
            length, rows = self.sampler.peek(self._buf, self.per_packet, period)
            if not length:
                break
            if not self.link.notify(self._buf, length):
                self.busy_retries += 1
                break
            self.sampler.consume(rows)
            self.packets_sent += 1
            sent += 1
        return sent

    def poll_ms(self):
        """How long the sender sleeps between looks at the ring: half a packet."""
        ms = 500 * max(1, self.per_packet) // self.rate_hz
        return 2 if ms < 2 else ms

    async def serve(self, link):
        """Run one connection until the central goes away."""
        self.link = link
        self.hal.power("active")
        self._restart_timer()  # tare and START need samples; idle reads cost little
        battery_at = self.hal.now_us()
        try:
            while link.connected:
                self.pump()
                await self.hal.sleep_ms(self.poll_ms() if self.streaming else 20)
                if self.hal.now_us() - battery_at > 30000000:
                    battery_at = self.hal.now_us()
                    self.update_battery()
        finally:
            self.streaming = False
            self.hal.stop_timer()
            self.hal.accel_power(False)
            self.schedule = None
            self.link = None

    async def run(self, forever=True):
        """Advertise, serve a central, repeat; deep sleep after a long idle stretch."""
        idle_since = self.hal.now_us()
        while True:
            self.update_battery()
            self.hal.power("idle")
            self.hal.accel_power(False)
            link = await self.hal.radio.advertise(self.name, int(self.config["idle_advertise_ms"]))
            if link is None:  # advertising timed out with nobody connecting
                idle_s = (self.hal.now_us() - idle_since) // 1000000
                if idle_s >= int(self.config["sleep_after_s"]):
                    self.hal.log("idle %d s: deep sleep (press the button to wake)" % idle_s)
                    self.hal.power("sleep")
                continue
            await self.serve(link)
            idle_since = self.hal.now_us()
            if not forever:
                return

    def update_battery(self):
        mv = self.hal.battery_mv()
        if mv is not None:
            self.hal.radio.set_battery(battery_percent(mv))
