"""A rejected value as the dead-letter topic keeps it, and ``virality detect --rejects`` too: one
encoding, so that a tool reading either reads both."""
from __future__ import annotations

import base64
from typing import Any

#: The most of a rejected value a dead letter carries (a longer one is cut, and says so): even
#: escaped into JSON at worst (6 bytes a byte) it stays under the producer's 1 MB request limit.
DEADLETTER_VALUE_BYTES = 128 * 1024
#: ... and of an unreadable stored state (offset -1): 640 KB make 853 KB of base64
DEADLETTER_STATE_BYTES = 640 * 1024


def value_fields(value: bytes, limit: int = DEADLETTER_VALUE_BYTES) -> dict[str, Any]:
    """``value`` and ``value_encoding``: UTF-8 text, or base64 when it is not UTF-8 or longer than
    :data:`DEADLETTER_VALUE_BYTES`; over ``limit`` only its first ``limit`` bytes, in base64 (the
    cut may split a character), with ``value_truncated`` and ``value_bytes``.

    >>> value_fields(b'{"id": 1'), value_fields(b"\\xff")["value_encoding"]
    ({'value': '{"id": 1', 'value_encoding': 'utf-8'}, 'base64')
    >>> value_fields(b"abcd", limit=2)
    {'value': 'YWI=', 'value_encoding': 'base64', 'value_truncated': True, 'value_bytes': 4}
    """
    if len(value) > limit:
        return {"value": base64.b64encode(value[:limit]).decode(), "value_encoding": "base64",
                "value_truncated": True, "value_bytes": len(value)}
    if len(value) > DEADLETTER_VALUE_BYTES:
        return {"value": base64.b64encode(value).decode(), "value_encoding": "base64"}
    try:
        return {"value": value.decode("utf-8"), "value_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"value": base64.b64encode(value).decode(), "value_encoding": "base64"}


def key_fields(key: bytes | None, limit: int) -> dict[str, Any]:
    """``key``: the message's key as text (its first ``limit`` characters), ``""`` for an empty
    key and None for none; a key that is not UTF-8 in base64 (its first ``limit`` bytes) with
    ``key_encoding``. (Before 2026-11-24 such a key was kept with its bytes replaced by U+FFFD, and
    an empty one as None.)

    >>> key_fields(b"c1", 8), key_fields(b"", 8), key_fields(None, 8)
    ({'key': 'c1'}, {'key': ''}, {'key': None})
    >>> key_fields(b"\\xff\\xfeabc", 8)
    {'key': '//5hYmM=', 'key_encoding': 'base64'}
    """
    if key is None:
        return {"key": None}
    try:
        return {"key": key.decode("utf-8")[:limit]}
    except UnicodeDecodeError:
        return {"key": base64.b64encode(key[:limit]).decode(), "key_encoding": "base64"}
