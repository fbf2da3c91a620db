"""Dataclass <-> plain document codec shared by the store adapters.

Datetimes become epoch seconds (they sort and compare the same in SQLite and MongoDB),
enums their values, tuples lists, nested dataclasses nested documents. Each class's field
converters are worked out once: this runs for every record on the ingest path.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

import orjson

T = TypeVar("T")
Convert = Callable[[Any], Any]


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_doc(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


@cache
def _names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _timestamp(value: Any) -> Any:
    return None if value is None else value.timestamp()


def _plain(hint: Any) -> bool:
    """Values of this type are stored as they are: text, numbers, flags, StrEnums."""
    return hint in (str, int, float, bool) or (
        isinstance(hint, type) and issubclass(hint, enum.StrEnum))


def _encoder(hint: Any) -> Convert | None:
    """The converter a field of this type needs (None: stored as it is); what is not
    foreseen here is _encode's, which looks at each value."""
    args = set(typing.get_args(hint)) - {type(None)} if typing.get_origin(hint) in (
        typing.Union, types.UnionType) else {hint}
    if len(args) == 1:
        (only,) = args
        if _plain(only):
            return None
        if only is datetime:
            return _timestamp
        if isinstance(only, type) and dataclasses.is_dataclass(only):
            return to_doc
        inner = typing.get_args(only)
        if typing.get_origin(only) is tuple and len(inner) == 2 and inner[1] is Ellipsis \
                and _plain(inner[0]):
            return list
    return _encode


@cache
def _encoders(cls: Any) -> tuple[tuple[str, Convert | None], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((name, _encoder(hints[name])) for name in _names(cls))


def to_doc(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-able dict (each class's field converters are worked
    out once: records are encoded several times per ingested post)."""
    return {name: value if encode is None or value is None else encode(value)
            for name, encode in _encoders(typing.cast(Any, type(obj)))
            for value in (getattr(obj, name),)}


def _enum_decoder(cls: type[enum.Enum]) -> Convert:
    members = cls._value2member_map_

    def decode(value: Any) -> Any:
        found = members.get(value)   # a dict lookup: calling the class costs ~1 us
        return cls(value) if found is None else found
    return decode


def _decoder(hint: Any) -> Convert | None:
    """A converter from the stored form back to the annotated type (None: as stored;
    None values never reach a converter)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _decoder(next(a for a in typing.get_args(hint) if a is not type(None)))
    if hint is datetime:
        return lambda v: datetime.fromtimestamp(v, UTC)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_decoder(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda v: from_doc(hint, v)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        if item is None:
            return tuple
        return lambda v: tuple(item(x) for x in v)
    return None


@cache
def _decoders(cls: Any) -> dict[str, Convert | None]:
    hints = typing.get_type_hints(cls)
    return {name: _decoder(hints[name]) for name in _names(cls)}


def from_doc(cls: type[T], doc: dict[str, Any]) -> T:
    """Rebuild a dataclass from to_doc's output (unknown keys are ignored)."""
    decoders = _decoders(typing.cast(Any, cls))
    return cls(**{k: v if v is None or (decode := decoders[k]) is None else decode(v)
                  for k, v in doc.items() if k in decoders})


# orjson reads a number of 19 or more digits as a float where json keeps an exact int: text
# holding such a digit run (even in a string) is read by json instead.
_LONG_NUMBER = re.compile(r"[0-9]{19}")


def dumps(doc: Any) -> str:
    """A document as JSON text for a store column (orjson: several times json's speed);
    what orjson refuses (an int beyond 64 bits, a non-string key) goes through json."""
    try:
        return orjson.dumps(doc).decode()
    except TypeError:
        return json.dumps(doc)


def loads(text: str | bytes) -> Any:
    """JSON text from a store column (written by `dumps`, or by json before it was used)."""
    if not _LONG_NUMBER.search(text if isinstance(text, str) else text.decode()):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass   # NaN or Infinity, which json wrote before orjson was used
    return json.loads(text)
