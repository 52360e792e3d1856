"""Where palpate keeps per-user files: config (TOML) and state (diagnostics).

The platform's user dirs (platformdirs); ``PALPATE_CONFIG_DIR`` and
``PALPATE_STATE_DIR`` override them (tests, portable installs).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["config_dir", "state_dir"]


def config_dir() -> Path:
    """Folder of the person's settings and remembered devices."""
    override = os.environ.get("PALPATE_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir("palpate"))


def state_dir() -> Path:
    """Folder of palpate's own state: the link diagnostics."""
    override = os.environ.get("PALPATE_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir("palpate"))
