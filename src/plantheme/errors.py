"""The one exception type users see as a message rather than a traceback."""

from __future__ import annotations


class PlanthemeError(Exception):
    """A problem the user can fix: bad input, a missing or incompatible model.

    The message names what was wrong and where (file, line, field), so the CLI
    and the service can show it as it is.
    """
