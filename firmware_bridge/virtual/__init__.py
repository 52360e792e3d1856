"""Virtual BLE devices: bleak talking to bumble peripherals over an in-process radio.

- :mod:`~firmware_bridge.virtual.air`: the radio (bumble virtual controllers on a LocalLink);
- :mod:`~firmware_bridge.virtual.backend`: bleak client and scanner backends over it;
- :mod:`~firmware_bridge.virtual.peer`: the peripheral base class, signals and faults;
- :mod:`~firmware_bridge.virtual.peers`: the Progressor, pad, micro:bit and UART peers;
- :mod:`~firmware_bridge.virtual.source`: ``--device virtual:KIND``.

Only imported when used (bumble is not loaded for real devices).
"""
