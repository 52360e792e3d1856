"""Shared fixtures of the device-bridge tests: the data folder, a frame collector."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from analysis.stream import Event, Frame
from firmware_bridge.source import Source

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
"""The real recordings (``../shared/data`` beside the repository); tests skip without them."""


@pytest.fixture
def shared_file() -> object:
    """``shared_file(name)``: the path of a shared recording, skipping the test without it."""

    def find(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.exists():
            pytest.skip(f"{path} not present (shared recordings live beside the repository)")
        return path

    return find


async def _collect(source: Source, seconds: float) -> tuple[list[Frame], list[Event]]:
    frames: list[Frame] = []
    events: list[Event] = []
    async with source:
        async for frame in source.frames():
            frames.append(frame)
            events += source.drain_events()
            if frame.t[-1] - frames[0].t[0] >= seconds:
                break
    return frames, events


@pytest.fixture
def collect() -> Callable[[Source, float], tuple[list[Frame], list[Event]]]:
    """``collect(source, seconds)``: open the source, stream that long, close it; returns
    the frames and the source's events."""

    def run(source: Source, seconds: float) -> tuple[list[Frame], list[Event]]:
        return asyncio.run(_collect(source, seconds))

    return run
