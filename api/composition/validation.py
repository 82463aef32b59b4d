"""Structural validation of request bodies against a twin's card (before the gate), and
strict parsing of typed query parameters."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from api.errors import BadRequest
from models.card import FeatureSpec, TwinCard

MAX_SCENARIOS = 5
_MODEL = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_VERSION = re.compile(r"[0-9]{1,9}")
#: The OpenAPI ``pattern`` of a model name and a version number (what check_reference takes).
MODEL_NAME_PATTERN = f"^{_MODEL.pattern}$"
VERSION_PATTERN = f"^{_VERSION.pattern}$"
_PURPOSE = re.compile(r"[a-z][a-z-]{0,63}")
#: RFC 3339 ``date-time`` (what OpenAPI's ``format: date-time`` means): ISO 8601 with a
#: ``T`` between date and time and a time zone; ``datetime.fromisoformat`` alone would also
#: take a date, a space, week dates, basic format or no time zone.
_DATE_TIME = re.compile(
    r"(?P<minute>[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?P<fraction>\.[0-9]+)?(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
DATE_TIME_EXAMPLE = "2026-01-31T08:00:00Z"


def parse_date_time(value: str | None, field: str) -> datetime | None:
    """A query parameter documented as ``format: date-time``, parsed strictly.

    Accepted: an RFC 3339 date-time, i.e. ISO 8601 with a time zone (``2026-01-31T08:00:00Z``,
    ``2026-01-31T09:00:00.5+01:00``), returned in UTC (an instant before year 1 or after
    9999 in UTC becomes the first or last one Python can hold; a leap second ``:60``, the
    last microsecond before it); ``None`` when absent.
    Anything else (a number, a date alone, a space for ``T``, no time zone, a day or an
    offset out of range) raises :class:`BadRequest` naming ``field``. The time zone is
    required: a local time is ambiguous, and the audit log holds UTC instants.
    """
    if value is None:
        return None
    match = _DATE_TIME.fullmatch(value)
    if match:
        if match["second"] == "60":  # a leap second: Python has none, take the instant before
            value = f"{match['minute']}:59.999999{match['zone']}"
        try:
            # Python 3.11 reads "Z" but not "z" or "t"; fractions past microseconds are cut.
            local = datetime.fromisoformat(value.upper())
        except ValueError:
            pass  # a month, day, hour, minute, second or offset out of range
        else:
            try:
                return local.astimezone(UTC)
            except OverflowError:  # year 1 east of UTC or year 9999 west of it: no record
                return (datetime.min if local.year == 1 else datetime.max).replace(tzinfo=UTC)
    raise BadRequest(
        f"{field} must be an ISO 8601 date-time with a time zone (RFC 3339), such as "
        f"{DATE_TIME_EXAMPLE} or 2026-01-31T09:00:00+01:00",
        field=field,
    )


def check_reference(model: str, version: str | None = None, purpose: str | None = None) -> None:
    """Model references and purposes are plain identifiers: no path, URI or control
    character ever reaches a store."""
    if not _MODEL.fullmatch(model):
        raise BadRequest(
            "model must be a registered name: lower-case letters, digits and '-'", field="model"
        )
    if version is not None and not _VERSION.fullmatch(version):
        raise BadRequest("version must be a version number such as '3'", field="version")
    if purpose is not None and not _PURPOSE.fullmatch(purpose):
        raise BadRequest("purpose must be a purpose name such as 'treatment'", field="purpose")


def validate_output(card: TwinCard, output: str | None, trajectory: bool) -> None:
    """Mechanistic twins predict a named output; other kinds take no output option."""
    if not card.kind.is_mechanistic:
        if output is not None or trajectory:
            raise BadRequest(
                "output and trajectory apply to mechanistic twins only",
                field="output" if output is not None else "trajectory",
            )
        return
    if output is not None and output not in card.outputs:
        raise BadRequest(f"output must be one of {list(card.outputs)}", field="output")


def validate_features(card: TwinCard, features: Mapping[str, Any]) -> dict[str, float]:
    """Structural validation against the feature schema; raises :class:`BadRequest`."""
    names = set(card.feature_names)
    unknown = sorted(set(features) - names)
    if unknown:
        raise BadRequest(
            f"unknown feature(s) {unknown}; this model reads {sorted(names)}",
            field=f"features.{unknown[0]}",
        )
    missing = sorted(names - set(features))
    if missing:
        raise BadRequest(f"missing feature(s) {missing}", field=f"features.{missing[0]}")
    clean: dict[str, float] = {}
    for spec in card.features:
        raw = features[spec.name]
        field = f"features.{spec.name}"
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise BadRequest(f"{field} must be a number", field=field)
        try:
            value = float(raw)
        except OverflowError:  # an integer beyond every float: outside any range
            raise _out_of_range(spec, field) from None
        if not math.isfinite(value):
            raise BadRequest(f"{field} must be a finite number", field=field)
        if spec.dtype in ("int", "binary") and not value.is_integer():
            raise BadRequest(f"{field} must be a whole number", field=field)
        if spec.dtype == "binary" and value not in (0.0, 1.0):
            raise BadRequest(f"{field} must be 0 or 1", field=field)
        if not spec.minimum <= value <= spec.maximum:
            raise _out_of_range(spec, field)
        clean[spec.name] = value
    return clean


def _out_of_range(spec: FeatureSpec, field: str) -> BadRequest:
    return BadRequest(
        f"{field} is outside the allowed range "
        f"[{spec.minimum:g}, {spec.maximum:g}] {spec.unit}".rstrip(),
        field=field,
    )
