"""palpate pad firmware (MicroPython 1.22+, aioble).

The logic lives in small modules that run unchanged on MicroPython and CPython:

- ``protocol``: the GATT protocol of ``hardware/PROTOCOL.md`` (packets, info, commands);
- ``schedule``: which samples are due when (an exact grid, no drift);
- ``sampler``: the ring of samples and how it is cut into notifications;
- ``calib``: the calibration stored on the pad (counts to 0.01 N by a lookup table);
- ``app``: the pad itself (commands, streaming, battery, idle), written against a HAL;
- ``board``: the HAL of the real board (ESP32-S3, ADC, IMU, aioble), MicroPython only.

On CPython, ``firmware_bridge.virtual.pad_firmware`` supplies a HAL with a fake ADC
and IMU and a bumble GATT server, so palpate talks to this code like to a real pad.
"""

VERSION = (1, 0, 0)
