"""The input event contract and its one decoder.

Every path into the detectors (the Faust agents, ``virality detect``, the benchmarks) decodes raw
input here, so a malformed event is rejected for the same reason everywhere.

An event is one post, share, quote or reply::

    {"id": "p1", "kind": "share", "root_id": "p0", "parent_id": "p0",
     "created_at": "2026-11-22T10:00:00Z", "author": {"id": "u1", "followers": 120},
     "text": "...", "lang": "sv", "brands": ["sj"], "platform": "x"}

``created_at`` is an ISO-8601 string (a zone is required; ``Z`` or an offset) or epoch milliseconds.

>>> e = decode_event(b'{"id":"a","kind":"post","created_at":0,"author":{"id":"u"},"text":"hej"}')
>>> (e.id, e.root_id, e.t_ms, e.followers)
('a', 'a', 0, None)
>>> try:
...     decode_event(b'{"id":"a","kind":"share","created_at":0,"author":{"id":"u"}}')
... except Rejected as r:
...     print(r.reason)
missing_field
"""
from __future__ import annotations

import orjson
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

KINDS = frozenset({"post", "share", "quote", "reply"})

#: Longest accepted text, in characters. Longer posts are rejected rather than truncated, so a
#: detector never scores a text it did not fully see.
MAX_TEXT_CHARS = 10_000
#: Longest accepted raw message, in bytes (checked before parsing).
MAX_EVENT_BYTES = 64_000
#: Event times from the year 3000 on are rejected (and must be, to be written as ISO-8601 at all).
MAX_TIME_MS = 32_503_680_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)
#: More followers than any account has: above it a count is a producer's error (and the reach sum
#: of a cascade must stay within 64-bit integers for its stored state).
MAX_FOLLOWERS = 10_000_000_000
MAX_ID_CHARS = 256
MAX_BRANDS = 32
MAX_BRAND_CHARS = 100
#: Language tags that name no language: undetermined (``und``), no linguistic content (``zxx``),
#: several (``mul``), and X/Twitter's own for posts of only media links, mentions, hashtags,
#: cashtags or very short text (``qme``, ``qam``, ``qht``, ``qct``, ``qst``). Such a tag is no hint
#: (as if absent), not an unknown language: the text decides.
NO_LANGUAGE_TAGS = frozenset({"und", "zxx", "mul", "qme", "qam", "qht", "qct", "qst"})

# Rejection reasons: a closed set, so they can be a metric label.
REASONS = (
    "malformed_json",
    "not_an_object",
    "too_large",
    "missing_field",
    "wrong_type",
    "bad_value",
    "bad_timestamp",
    "text_too_long",
    "unknown_language",
    "duplicate",
    "too_late",
    "from_the_future",
    "analysis_failed",  # the text model raised on this text (a plugged-in model's error)
    "internal_error",  # processing the event raised an unexpected error (see the worker's log)
)


class Rejected(ValueError):
    """An input event that cannot be processed; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Event:
    id: str
    kind: str
    root_id: str
    parent_id: str | None
    t_ms: int
    author_id: str
    followers: int | None
    handle: str | None
    text: str | None
    lang: str | None
    brands: tuple[str, ...]
    platform: str | None

    @property
    def is_root(self) -> bool:
        return self.kind == "post"

    @property
    def has_text(self) -> bool:
        """A text to analyse (not missing, not blank)."""
        return bool(self.text) and not self.text.isspace()

    def to_json(self) -> dict[str, Any]:
        """The event back in the wire format (``created_at`` as epoch ms)."""
        author: dict[str, Any] = {"id": self.author_id}
        if self.followers is not None:
            author["followers"] = self.followers
        if self.handle is not None:
            author["handle"] = self.handle
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "created_at": self.t_ms, "author": author}
        if not self.is_root:
            out["root_id"] = self.root_id
        for name in ("parent_id", "text", "lang", "platform"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.brands:
            out["brands"] = list(self.brands)
        return out


def _str(obj: dict, name: str, required: bool, max_chars: int = MAX_ID_CHARS,
         label: str | None = None) -> str | None:
    value = obj.get(name)
    name = label or name
    if value is None:
        if required:
            raise Rejected("missing_field", f"'{name}' is required")
        return None
    if not isinstance(value, str):
        raise Rejected("wrong_type", f"'{name}' must be a string, got {type(value).__name__}")
    if required and not _visible(value).strip():
        raise Rejected("bad_value", f"'{name}' must not be empty" + ("" if not value.strip() else
                                                                  " (it has only invisible characters)"))
    if len(value) > max_chars:
        raise Rejected("bad_value", f"'{name}' is longer than {max_chars} characters")
    return value


def parse_time_ms(value: Any) -> int:
    """Epoch milliseconds from an ISO-8601 string with a zone, or from an epoch-ms number."""
    if isinstance(value, bool):
        raise Rejected("wrong_type", "'created_at' must be an ISO-8601 string or epoch milliseconds")
    if isinstance(value, (int, float)):
        if value != value or not (0 <= value < MAX_TIME_MS):  # NaN, or beyond year 3000
            raise Rejected("bad_timestamp", f"'created_at' {value!r} is out of range")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise Rejected("bad_timestamp", f"'created_at' {value[:40]!r} is not ISO-8601") from None
        if parsed.tzinfo is None:
            raise Rejected("bad_timestamp", f"'created_at' {value[:40]!r} has no time zone")
        since = parsed - EPOCH
        if since < timedelta(0):
            raise Rejected("bad_timestamp", f"'created_at' {value[:40]!r} is before 1970")
        # Whole milliseconds in integer arithmetic: timestamp() * 1000 is a float product that
        # lands a millisecond low for many times, so ISO and epoch-ms input of one instant differed.
        ms = since // _ONE_MS
        if ms >= MAX_TIME_MS:
            raise Rejected("bad_timestamp", f"'created_at' {value[:40]!r} is in the year 3000 or later")
        return ms
    if value is None:
        raise Rejected("missing_field", "'created_at' is required")
    raise Rejected("wrong_type", "'created_at' must be an ISO-8601 string or epoch milliseconds")


def _visible(value: str) -> str:
    """``value`` without control and format characters (NUL, zero-width space, direction marks...):
    an id or a brand made of them only looks empty to a person, and is taken as empty."""
    if value.isprintable():   # (the common case, in C: none of them is there)
        return value
    return "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cf"))


def _opt_str(obj: dict, name: str, max_chars: int = MAX_ID_CHARS, label: str | None = None) -> str | None:
    value = obj.get(name)
    if value is None or (type(value) is str and len(value) <= max_chars):
        return value
    return _str(obj, name, False, max_chars, label=label)


def _req_str(obj: dict, name: str, label: str | None = None) -> str:
    value = obj.get(name)
    if type(value) is str and 0 < len(value) <= MAX_ID_CHARS and value.isprintable() and not value.isspace():
        return value
    return _str(obj, name, True, label=label)  # raises with the precise reason


def parse_json(raw: bytes | str) -> Any:
    """The JSON value of ``raw``, or :class:`Rejected` ``malformed_json`` saying what is wrong in
    words a producer understands (orjson's own "str is not valid UTF-8: surrogates not allowed"
    for a Latin-1 byte, "invalid literal, expected 'null'" for plain text).

    >>> parse_json(b'{"a": 1}')
    {'a': 1}
    >>> parse_json("caf\xe9".encode("latin-1"))
    Traceback (most recent call last):
    ...
    detectors.events.Rejected: malformed_json: the line is not valid UTF-8 (byte 0xe9 at 3)
    """
    try:
        return orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        if raw[:3] == b"\xef\xbb\xbf" or raw[:1] == "\ufeff":   # a byte order mark: the offline
            return parse_json(raw[3:] if isinstance(raw, (bytes, bytearray)) else raw[1:])  # readers skip it too
        if isinstance(raw, (bytes, bytearray)):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise Rejected("malformed_json", f"the line is not valid UTF-8 (byte 0x{raw[bad.start]:02x} at "
                                                 f"{bad.start})") from None
        text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else raw
        if not text.strip():
            raise Rejected("malformed_json", "the value is empty" if not text else "the value is only white space") from None
        if text.lstrip()[:1] not in ("{", "["):
            raise Rejected("malformed_json", f"not JSON: {text.strip()[:40]!r} (one JSON object per line)") from None
        raise Rejected("malformed_json", str(exc)[:200]) from None


def decode_event(raw: bytes | str | dict) -> Event:
    """Decode and validate one raw event, or raise :class:`Rejected` with a reason."""
    if isinstance(raw, dict):
        obj = raw
    else:
        if len(raw) > MAX_EVENT_BYTES:
            raise Rejected("too_large", f"event is {len(raw)} bytes, the limit is {MAX_EVENT_BYTES}")
        obj = parse_json(raw)
    if type(obj) is not dict:
        raise Rejected("not_an_object", f"event must be a JSON object, got {type(obj).__name__}")

    event_id = _req_str(obj, "id")
    kind = _req_str(obj, "kind")
    if kind not in KINDS:
        raise Rejected("bad_value", f"'kind' must be one of post, share, quote, reply; got {kind[:20]!r}")
    if kind == "post":
        root_id = _opt_str(obj, "root_id")
        if root_id is not None and root_id != event_id:
            raise Rejected("bad_value", "a post is its own root: 'root_id' must equal 'id' or be absent")
        root_id = event_id
    else:
        root_id = _req_str(obj, "root_id")
        if root_id == event_id:
            raise Rejected("bad_value", f"a {kind} cannot be its own root")
    parent_id = _opt_str(obj, "parent_id")
    if parent_id is not None and (parent_id == event_id or not _visible(parent_id).strip()):
        raise Rejected("bad_value", "'parent_id' must name another event" if parent_id == event_id
                       else "'parent_id' must not be empty")
    created = obj.get("created_at")
    if type(created) is int and 0 <= created < MAX_TIME_MS:
        t_ms = created
    else:
        t_ms = parse_time_ms(created)

    author = obj.get("author")
    if type(author) is not dict:
        if author is None:
            raise Rejected("missing_field", "'author' is required")
        raise Rejected("wrong_type", "'author' must be an object")
    author_id = _req_str(author, "id", "author.id")
    followers = author.get("followers")
    if followers is not None and (type(followers) is not int or not 0 <= followers <= MAX_FOLLOWERS):
        if type(followers) is float and followers > MAX_FOLLOWERS:  # an integer too large for JSON's ints
            raise Rejected("bad_value", f"'author.followers' is above {MAX_FOLLOWERS:,}")
        if type(followers) is float and followers < -MAX_FOLLOWERS:  # (and one too small)
            raise Rejected("bad_value", "'author.followers' must not be negative")
        if isinstance(followers, bool) or not isinstance(followers, int):
            raise Rejected("wrong_type", "'author.followers' must be an integer")
        if followers < 0:
            raise Rejected("bad_value", "'author.followers' must not be negative")
        raise Rejected("bad_value", f"'author.followers' is above {MAX_FOLLOWERS:,}")
    handle = _opt_str(author, "handle", label="author.handle")

    text = obj.get("text")
    if text is not None:
        if type(text) is not str:
            raise Rejected("wrong_type", "'text' must be a string")
        if len(text) > MAX_TEXT_CHARS:
            raise Rejected("text_too_long", f"'text' has {len(text)} characters, the limit is {MAX_TEXT_CHARS}")
    lang = _opt_str(obj, "lang", max_chars=35)
    if lang is not None:
        lang = lang.strip().lower() or None
        if lang is not None and lang.split("-")[0] in NO_LANGUAGE_TAGS:
            lang = None  # "undetermined" and the like: no hint, the text decides

    brands_raw = obj.get("brands")
    brands: tuple[str, ...] = ()
    if brands_raw is not None:
        if type(brands_raw) is not list or not all(type(b) is str for b in brands_raw):
            raise Rejected("wrong_type", "'brands' must be a list of strings")
        if len(brands_raw) > MAX_BRANDS:
            raise Rejected("bad_value", f"'brands' has more than {MAX_BRANDS} entries")
        if any(len(b) > MAX_BRAND_CHARS for b in brands_raw):  # as the schema's maxLength counts
            raise Rejected("bad_value", f"a brand in 'brands' is longer than {MAX_BRAND_CHARS} characters")
        cleaned = (_visible(b).strip().lower() for b in brands_raw)
        brands = tuple(dict.fromkeys(b for b in cleaned if b))
    platform = _opt_str(obj, "platform")
    if kind == "post" and (not text or text.isspace()):
        raise Rejected("bad_value", "a post needs a non-empty 'text'")

    return Event(event_id, kind, root_id, parent_id, t_ms, author_id, followers, handle, text, lang,
                 brands, platform)
