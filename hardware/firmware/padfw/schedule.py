"""When samples are due: an exact grid on the pad's microsecond clock.

Sample ``k`` (counted from START) is due at ``start_us + k * 1_000_000 // rate_hz``.
The grid is computed from ``k``, never by adding periods, so it cannot drift; a
timer that fires late (a soft interrupt held up by the radio or the garbage
collector) takes every sample that came due meanwhile, each stamped with its
grid time. A timer held up for longer than ``max_burst`` samples skips the
oldest ones: their numbers are never used, so the central sees them as lost
(a gap) instead of a burst of stale readings. Integers only: it runs the same
on MicroPython.
"""


class Schedule:
    """The sampling grid of one streaming run.

    Parameters
    ----------
    rate_hz : int
        Samples per second; one of ``protocol.RATES_HZ`` keeps ``period_us`` whole.
    start_us : int
        Pad clock (µs) of sample 0.
    max_burst : int
        Most samples one :meth:`due` call hands out; older ones are skipped.
    """

    def __init__(self, rate_hz, start_us, max_burst=50):
        if rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        self.rate_hz = rate_hz
        self.period_us = 1000000 // rate_hz
        self.start_us = start_us
        self.max_burst = max_burst
        self.next = 0  # number of the next sample to take
        self.skipped = 0  # samples skipped so far (timer too late)

    def time_us(self, k):
        """Pad clock of sample ``k``, µs."""
        return self.start_us + k * 1000000 // self.rate_hz

    def offset_us(self, k):
        """Time of sample ``k`` since sample 0, µs (the packet's ``t_us``)."""
        return k * 1000000 // self.rate_hz

    def due(self, now_us):
        """Samples due at ``now_us``: ``(first, count, skipped)``.

        ``first .. first + count - 1`` are to be taken now; ``skipped`` samples
        before ``first`` were dropped because the timer was too late.
        """
        if now_us < self.start_us:
            return self.next, 0, 0
        newest = (now_us - self.start_us) * self.rate_hz // 1000000
        count = newest + 1 - self.next
        if count <= 0:
            return self.next, 0, 0
        skipped = 0
        if count > self.max_burst:
            skipped = count - self.max_burst
            self.next += skipped
            self.skipped += skipped
            count = self.max_burst
        first = self.next
        self.next += count
        return first, count, skipped

    def wait_us(self, now_us):
        """Microseconds until the next sample is due (0 when it already is)."""
        wait = self.time_us(self.next) - now_us
        return wait if wait > 0 else 0
