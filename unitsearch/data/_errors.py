"""The data subpackage's error type, in its own module so every loader can raise it."""

from __future__ import annotations

from ..errors import UserError

__all__ = ["DataError"]


class DataError(UserError):
    """A dataset cannot be loaded or a split is not there; the message says what was expected."""
