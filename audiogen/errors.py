"""Error types with messages that name the offending file, key or field."""

from __future__ import annotations


class AudiogenError(Exception):
    """Base class of every error audiogen raises on purpose (shown without a traceback)."""


class AudioError(AudiogenError):
    """An audio file could not be read or written, or its content is unusable."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class ConfigError(AudiogenError):
    """A configuration key is unknown, missing or has a bad value."""


class SpecMismatchError(AudiogenError):
    """Features or data were made with another representation spec than the model's."""


class DataError(AudiogenError):
    """A manifest or corpus is malformed or missing."""
