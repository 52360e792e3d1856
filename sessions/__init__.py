"""How sessions are kept: CSV import and export (recording, replay and history follow)."""

from sessions.errors import CsvFormatError, SessionError

__all__ = ["CsvFormatError", "SessionError"]
