"""Boot entry of the pad: copy this file and the padfw folder to the board (see README)."""

try:
    import asyncio
except ImportError:  # MicroPython before 1.21
    import uasyncio as asyncio

from padfw.board import main

asyncio.run(main())
