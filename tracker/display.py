"""Showing text that came from outside (a radio, a file) and times, safely and the same way everywhere.

A sensor advertises whatever name it likes, and a capture or a database holds whatever bytes were
put there. Printed as they are, `[red]X` becomes a red "X" (so a hint names the wrong device),
`[/]` makes Rich raise a MarkupError, and `\\x1b[2J` clears the terminal. `shown(text)` is the one
way such a string reaches the screen: control characters become visible escapes (`\\x1b`), and
what is left is escaped for Rich markup, so it reads as it was sent.
"""

from __future__ import annotations

import math
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls (ESC, BEL, CR, ...), and the line separators and bidirectional overrides
that can make text read differently from what it is."""


def plain(text: Any) -> str:
    """`text` as a one-line string with every control character shown as an escape (`\\x1b`)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def shown(text: Any) -> str:
    """`plain(text)` escaped for Rich markup: what to pass to `Console.print` for a string from a
    radio or a file (a name, a firmware string, an event's text, a note, a path)."""
    from rich.markup import escape

    return escape(plain(text))


def clock(t_s: float) -> str:
    """Session time as minutes:seconds with tenths, e.g. 27:00.0 (rounded before splitting, so
    1619.97 s is 27:00.0, not 26:60.0)."""
    value = float(t_s)
    if not math.isfinite(value) or abs(value) > 1e12:
        return "?:??.?"
    tenths = round(value * 10)
    sign = "-" if tenths < 0 else ""
    minutes, rest = divmod(abs(tenths), 600)
    return f"{sign}{minutes}:{rest // 10:02d}.{rest % 10}"
