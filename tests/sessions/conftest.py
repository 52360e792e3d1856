"""Fixtures for the session tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``predicate`` every 10 ms until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., None]:
    """Wait for a condition on a session running in its own thread."""
    return _wait_for
