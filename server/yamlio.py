"""YAML read with libyaml's C parser when PyYAML was built with it: the pure-Python parser
took 1.2 s of start-up on openapi.yaml alone."""

from __future__ import annotations

from typing import IO, Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # a PyYAML without libyaml: the same answers, slower
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def safe_load(source: str | bytes | IO[str] | IO[bytes]) -> Any:
    """yaml.safe_load, faster."""
    return yaml.load(source, Loader=_Loader)
