"""Bumble's debug log, formatted only when someone reads it.

Bumble logs every HCI, L2CAP and ATT packet at DEBUG with f-strings
(`logger.debug(f'{color("### CONTROLLER -> HOST", "green")}: {packet}')`). An f-string is built
before `logger.debug` looks at the level, so with DEBUG off (tracker's default; `--verbose`
turns it on) every packet was still rendered, in colour, field by field, and thrown away: a fifth
of `tracker demo`'s time (BENCHMARKS.md).

`install()` makes that rendering lazy without changing Bumble's behaviour or output:
- the `color` function each Bumble module imported returns its text unchanged while the "bumble"
  logger is not enabled for DEBUG (no escape codes to build), and colours as before when it is;
- formatting a packet into an f-string (`format(packet, "")`, which is what `{packet}` does)
  gives only its class name while DEBUG is off, and the full text when it is on. `str(packet)`
  still gives the full text (without colour codes while DEBUG is off): only f-string and
  `format()` rendering, which Bumble uses for log text, is shortened.
The level is checked at every call, so turning DEBUG on later (`-v`, a test) shows everything.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

_BUMBLE = logging.getLogger("bumble")
_MODULES = ("att", "controller", "device", "gatt", "gatt_client", "gatt_server", "hci", "host",
            "l2cap", "smp", "link", "helpers", "utils", "keys")  # fmt: skip
_PACKET_CLASSES = (("hci", "HCI_Packet"), ("att", "ATT_PDU"), ("l2cap", "L2CAP_PDU"),
                   ("l2cap", "L2CAP_Control_Frame"), ("smp", "SMP_Command"))  # fmt: skip
_installed = False


def debug_enabled() -> bool:
    """Whether Bumble's debug records would reach a handler now."""
    return _BUMBLE.isEnabledFor(logging.DEBUG)


def install() -> None:
    """Make Bumble's debug-log formatting lazy (idempotent; see the module docstring)."""
    global _installed
    if _installed:
        return
    _installed = True
    from bumble import colors

    real_color = colors.color

    def color(s: str, *args: Any, **kwargs: Any) -> str:
        return real_color(s, *args, **kwargs) if debug_enabled() else s

    for name in _MODULES:
        try:
            module = importlib.import_module(f"bumble.{name}")
        except ImportError:  # a Bumble version without it
            continue
        if getattr(module, "color", None) is real_color:
            module.color = color  # type: ignore[attr-defined]
    for module_name, class_name in _PACKET_CLASSES:
        cls = getattr(importlib.import_module(f"bumble.{module_name}"), class_name, None)
        if cls is None or "__format__" in vars(cls):
            continue  # missing, or Bumble formats it itself: leave it alone
        cls.__format__ = _lazy_format


def _lazy_format(self: object, spec: str) -> str:
    if debug_enabled():
        return object.__format__(self, spec)
    return type(self).__name__
