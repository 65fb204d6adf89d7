"""The one exception type that reaches a user as a single line, not a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a person: the message names the problem and the allowed values.

    The CLI prints it as one line and exits with status 2.
    """
