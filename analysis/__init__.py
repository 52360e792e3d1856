"""What samples mean: the data model, pressure, ramp rate, warnings, strokes, summaries.

Pure numpy/scipy: no asyncio, no Qt, no files, no sockets.
"""
