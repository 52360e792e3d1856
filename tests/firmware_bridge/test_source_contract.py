"""One contract, every registered source: what a Source promises, checked on each of them.

Each registry row carries ``contract_options`` that make its source run without
hardware and end by itself; this test opens every source with them.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from analysis.stream import Frame, StreamInfo
from firmware_bridge import (
    Source,
    SourceEntry,
    SourceStateError,
    UnknownSource,
    entries,
    open_source,
)
from firmware_bridge.registry import resolve

ENTRIES = entries()


async def _collect(source: Source, limit: int = 10_000) -> tuple[StreamInfo, list[Frame]]:
    frames: list[Frame] = []
    async with source:
        info = source.info
        async for frame in source.frames():
            frames.append(frame)
            if len(frames) >= limit:
                break
    return info, frames


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_source_honours_the_contract(entry: SourceEntry) -> None:
    source = open_source(entry.name, **entry.contract_options)
    with pytest.raises(SourceStateError):
        _ = source.info  # not open yet
    info, frames = asyncio.run(_collect(source))
    assert frames, f"{entry.name} produced no frames"
    assert info.rate_hz > 0 and info.channels
    next_index, last_t = 0, -np.inf
    for frame in frames:
        assert frame.x.shape[1] == info.n_channels
        assert frame.t.dtype == np.float64 and frame.x.dtype == np.float32
        assert frame.index >= next_index and frame.t[0] > last_t
        next_index, last_t = frame.next_index, frame.t[-1]
    span = frames[-1].t[-1] - frames[0].t[0]
    measured = (sum(f.n for f in frames) - 1) / span
    assert measured == pytest.approx(info.rate_hz, rel=0.1)
    assert not source.is_open
    with pytest.raises(SourceStateError):
        asyncio.run(_collect(source))  # a source opens once


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_frames_need_an_open_source(entry: SourceEntry) -> None:
    source = open_source(entry.name, **entry.contract_options)

    async def iterate() -> None:
        async for _ in source.frames():
            pass

    with pytest.raises(SourceStateError, match="open"):
        asyncio.run(iterate())


def test_unknown_spec_names_the_known_sources() -> None:
    with pytest.raises(UnknownSource, match=r"known sources: .*sim"):
        resolve("nonesuch")
    with pytest.raises(UnknownSource):
        open_source("sim:extra")  # sim takes no argument


@pytest.mark.parametrize(
    ("spec", "entry", "argument"),
    [
        ("Progressor_7F3A", "ble", "Progressor_7F3A"),  # an advertised name, bare
        ("palpate-pad 3F2A", "ble", "palpate-pad 3F2A"),
        ("AA:BB:CC:DD:EE:FF", "ble", "AA:BB:CC:DD:EE:FF"),
        ("Tindeq", "tindeq", None),  # a kind in another case is the kind
        ("tindeq:Progressor_7F3A", "tindeq", "Progressor_7F3A"),
    ],
)
def test_bare_device_names_and_addresses_go_to_bluetooth(
    spec: str, entry: str, argument: str | None
) -> None:
    found, arg = resolve(spec)
    assert (found.name, arg) == (entry, argument)


@pytest.mark.parametrize("spec", ["simm", "tindec", "simulator", "microbt", "nonesuch"])
def test_typos_of_source_names_are_not_taken_for_device_names(spec: str) -> None:
    with pytest.raises(UnknownSource, match="known sources"):
        resolve(spec)


def test_registry_imports_drivers_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, firmware_bridge; "
        "print(any(m.startswith('firmware_bridge.devices.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
