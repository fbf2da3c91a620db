"""Turning GeoJSON Features into Neighbourhoods: ids, names, places and geometry checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import DomainError, FieldError, ValidationFailed
from .geojson import area_m2, parse_polygon
from .model import ImportRejection, Neighbourhood

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_NAME = 200
MAX_PLACES = 500
MAX_PLACE = 200
MAX_IMPORT_FEATURES = 20_000
# Path words under /v1/neighbourhoods/ that can never be neighbourhood ids.
RESERVED_IDS = frozenset({"locate", "import"})


@dataclass(frozen=True)
class ParsedFeature:
    """A feature that passed validation, ready to store."""

    neighbourhood: Neighbourhood
    repaired: bool


def check_id(nid: str, field: str = "id") -> None:
    """Raise ValidationFailed unless `nid` is a usable neighbourhood or officer id."""
    if not ID_PATTERN.match(nid):
        raise ValidationFailed(
            f"invalid id {nid!r}", errors=[FieldError(
                field, "ids are 1-128 characters: letters, digits and . _ : - "
                "(starting with a letter or digit)")])


def _places(props: dict[str, Any]) -> tuple[str, ...]:
    raw = props.get("places", [])
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ValidationFailed("places must be a list of strings", errors=[
            FieldError("properties.places", "must be a list of strings")])
    cleaned = [p.strip() for p in raw if p.strip()]
    if len(cleaned) > MAX_PLACES or any(len(p) > MAX_PLACE for p in cleaned):
        raise ValidationFailed("too many or too long places", errors=[FieldError(
            "properties.places", f"at most {MAX_PLACES} places of at most {MAX_PLACE} characters")])
    return tuple(dict.fromkeys(cleaned))


def parse_feature(feature: Any, *, nid: str, name_property: str, repair: bool,
                  now: datetime) -> ParsedFeature:
    """Validate one Feature as neighbourhood `nid`; raise ValidationFailed with reasons."""
    check_id(nid)
    if nid in RESERVED_IDS:
        raise ValidationFailed(f"{nid!r} is reserved", errors=[FieldError("id", "is reserved")])
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValidationFailed("expected a GeoJSON Feature",
                               errors=[FieldError("type", "must be 'Feature'")])
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise ValidationFailed("properties must be an object",
                               errors=[FieldError("properties", "must be an object")])
    name = props.get(name_property)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValidationFailed("the feature has no usable name", errors=[FieldError(
            f"properties.{name_property}", f"must be a non-empty string of at most {MAX_NAME}"
            " characters")])
    parsed = parse_polygon(feature.get("geometry"), repair=repair)
    hood = Neighbourhood(id=nid, name=name.strip(), places=_places(props),
                         geometry=parsed.geojson, area_m2=round(area_m2(parsed.shape), 1),
                         created_at=now, updated_at=now)
    return ParsedFeature(hood, parsed.repaired)


def _reason(exc: DomainError) -> str:
    if exc.errors:
        return "; ".join(f"{e.field}: {e.message}" for e in exc.errors[:3])
    return exc.detail


def parse_collection(features: Sequence[Any], *, id_property: str, name_property: str,
                     repair: bool, now: datetime,
                     progress: Callable[[int], object] | None = None,
                     ) -> tuple[list[ParsedFeature], list[ImportRejection]]:
    """Validate every feature; a bad one is rejected with its index and reason, never fatal."""
    good: list[ParsedFeature] = []
    rejected: list[ImportRejection] = []
    seen: set[str] = set()
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        raw_id = props.get(id_property) if isinstance(props, dict) else None
        nid = str(raw_id).strip() if isinstance(raw_id, str | int) else None
        try:
            if nid is None:
                raise ValidationFailed(f"property {id_property!r} is missing")
            if nid in seen:
                raise ValidationFailed(f"id {nid!r} appears earlier in this import")
            good.append(parse_feature(feature, nid=nid, name_property=name_property,
                                      repair=repair, now=now))
            seen.add(nid)
        except DomainError as exc:
            rejected.append(ImportRejection(index=index, id=nid, reason=_reason(exc)))
        if progress is not None:
            progress(1)
    return good, rejected
