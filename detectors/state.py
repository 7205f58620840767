"""What every stored state shares: its format version, and the error for a state that cannot be read.

A state (``to_state()``) is what a worker writes to its table's changelog and reads back after a
restart, a rebalance or an upgrade. Its top-level object carries ``"_v"``, the version of its
format, as its last key; a state without one was written before versions were recorded and reads as
version 1. A release that changes a format raises its version and reads the older ones.

>>> check_version({"_v": 1}, 1, "cascade")
1
>>> check_version({}, 1, "cascade")
1
>>> check_version({"_v": 2}, 1, "cascade")
Traceback (most recent call last):
...
detectors.state.NewerStateError: cascade state of format version 2, written by a newer release; this release reads versions up to 1
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")


class StateError(ValueError):
    """A stored state that cannot be read: not JSON, a key missing, a value of the wrong type."""


class NewerStateError(StateError):
    """A stored state written by a newer release (a higher format version than this code reads)."""


def check_version(d: Any, supported: int, what: str) -> int:
    """The format version of the state ``d`` (1 when it has none); raises :class:`StateError` if ``d``
    is not an object or its version is not a positive integer, :class:`NewerStateError` if the version
    is above ``supported``."""
    if not isinstance(d, dict):
        raise StateError(f"{what} state is a {type(d).__name__}, not a JSON object")
    version = d.get("_v", 1)
    if type(version) is not int or version < 1:
        raise StateError(f"{what} state has format version {version!r}, not a positive integer")
    if version > supported:
        raise NewerStateError(f"{what} state of format version {version}, written by a newer release; "
                              f"this release reads versions up to {supported}")
    return version


#: What reading a state with a missing key or a value of the wrong type raises.
READ_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError)


def read_state(d: Any, supported: int, what: str, read: Callable[[dict], T]) -> T:
    """``read(d)`` once :func:`check_version` has passed; what reading a damaged state raises
    (:data:`READ_ERRORS`) becomes a :class:`StateError` naming ``what``."""
    check_version(d, supported, what)
    try:
        return read(d)
    except READ_ERRORS as exc:
        raise StateError(f"{what} state unreadable ({type(exc).__name__}: {str(exc)[:200]})") from exc
