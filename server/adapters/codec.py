"""Dataclass <-> plain document codec shared by the store adapters.

Datetimes become epoch seconds (they sort and compare the same in SQLite and MongoDB),
enums their values, tuples lists, nested dataclasses nested documents. Each class's field
converters are worked out once: this runs for every record on the ingest path.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")
Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


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


def to_doc(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-able dict."""
    return {name: _encode(getattr(obj, name)) for name in _names(typing.cast(Any, type(obj)))}


def _decoder(hint: Any) -> Convert:
    """A converter from the stored form back to the annotated type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(next(a for a in typing.get_args(hint) if a is not type(None)))
        return lambda v: None if v is None else inner(v)
    if hint is datetime:
        return lambda v: datetime.fromtimestamp(v, UTC)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda v: from_doc(hint, v)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        return lambda v: tuple(item(x) for x in v)
    return _identity


@cache
def _decoders(cls: Any) -> dict[str, Convert]:
    hints = typing.get_type_hints(cls)
    return {name: _decoder(hints[name]) for name in _names(cls)}


def from_doc(cls: type[T], doc: dict[str, Any]) -> T:
    """Rebuild a dataclass from to_doc's output (unknown keys are ignored)."""
    decoders = _decoders(typing.cast(Any, cls))
    return cls(**{k: (None if v is None else decoders[k](v)) for k, v in doc.items()
                  if k in decoders})
