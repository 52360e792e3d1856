"""The pad's sample ring and how it is cut into notifications.

The timer pushes one row per sample (``n_force`` i16 forces, then 3 i16
accelerations when on) into a fixed ring, with the sample's number. The sender
peeks a packet's worth of rows, and consumes them only once the radio took the
notification, so a busy radio never loses a row it has not sent: the ring fills
up instead and later samples are dropped (their numbers skipped). A packet never spans a jump in the sample numbers:
rows before the jump go out in a shorter packet of their own, and the packet that
starts right after samples the pad dropped carries ``OVERFLOW``.

Preallocated buffers and integer arithmetic only; runs the same on MicroPython.
"""

from padfw import protocol


class Sampler:
    """A ring of sample rows.

    Parameters
    ----------
    n_force : int
        Force channels per row, 1-8.
    accel : bool
        Whether rows carry the 3 acceleration columns.
    raw : bool
        Forces are ADC counts (the ``RAW`` flag), not 0.01 N counts.
    capacity : int
        Rows the ring holds (0.2 s at 1 kHz by default).
    """

    def __init__(self, n_force, accel, raw=False, capacity=200):
        if not 1 <= n_force <= protocol.MAX_FORCE_CHANNELS:
            raise ValueError("n_force must be 1-8")
        self.n_force = n_force
        self.accel = bool(accel)
        self.width = n_force + (3 if accel else 0)
        self.row_bytes = 2 * self.width
        self.capacity = capacity
        self.flags = (protocol.FLAG_ACC if accel else 0) | (protocol.FLAG_RAW if raw else 0)
        self.ring = bytearray(capacity * self.row_bytes)
        self._view = memoryview(self.ring)
        self.counters = [0] * capacity
        self.after_drop = [False] * capacity  # row follows dropped samples
        self.reset()

    def reset(self):
        """Empty the ring and restart the packet numbers (at START)."""
        self.head = 0  # slot of the oldest row
        self.size = 0
        self.seq = 0
        self.dropping = False  # samples were dropped since the last row stored
        self.dropped = 0

    def push(self, counter, values):
        """Store one row (``values[:width]``) as sample number ``counter``.

        Returns False (and marks an overflow) when the ring is full.
        """
        if self.size == self.capacity:
            self.dropped += 1
            self.dropping = True
            return False
        slot = (self.head + self.size) % self.capacity
        protocol.pack_row(self.ring, slot * self.row_bytes, values, self.width)
        self.counters[slot] = counter
        self.after_drop[slot] = self.dropping
        self.dropping = False
        self.size += 1
        return True

    def lost(self, n):
        """``n`` samples were skipped before being taken (the timer was too late)."""
        if n > 0:
            self.dropped += n
            self.dropping = True

    def _run(self, limit):
        """Rows from the oldest on with consecutive numbers, at most ``limit``."""
        n = 1
        first = self.counters[self.head]
        while n < limit and n < self.size:
            if self.counters[(self.head + n) % self.capacity] != first + n:
                break
            n += 1
        return n

    def peek(self, buf, per_packet, period_us, flush=False):
        """Build the next packet into ``buf``; ``(length, rows)``, ``(0, 0)`` if none is due.

        A packet is due when ``per_packet`` rows are waiting, or fewer rows end at a
        jump of the sample numbers, or the ring is full, or ``flush`` is set.
        """
        if self.size == 0 or per_packet < 1:
            return 0, 0
        n = self._run(per_packet)
        if n < per_packet and n == self.size and not flush and self.size < self.capacity:
            return 0, 0
        first = self.counters[self.head]
        flags = self.flags | (protocol.FLAG_OVERFLOW if self.after_drop[self.head] else 0)
        protocol.pack_header(
            buf, flags, self.n_force, n, self.seq, first, first * period_us, period_us
        )
        rb = self.row_bytes
        start = self.head * rb
        end_slot = self.head + n
        out = protocol.HEADER_SIZE
        if end_slot <= self.capacity:
            buf[out : out + n * rb] = self._view[start : end_slot * rb]
        else:
            tail = (self.capacity - self.head) * rb
            buf[out : out + tail] = self._view[start : self.capacity * rb]
            rest = (end_slot - self.capacity) * rb
            buf[out + tail : out + tail + rest] = self._view[0:rest]
        return protocol.HEADER_SIZE + n * rb, n

    def consume(self, rows):
        """The packet of ``rows`` rows went out: drop them, count the packet."""
        self.head = (self.head + rows) % self.capacity
        self.size -= rows
        self.seq = (self.seq + 1) & 0xFFFF
