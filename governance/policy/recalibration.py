"""When a device-fed twin is recalibrated (``policies/recalibration.toml``): per twin
kind, every ``every_readings`` readings stored since its latest state, or every
``every_minutes`` minutes while at least one reading is waiting. A kind not listed is
never recalibrated by the stream ingester (a clinician calibrates it). Parsed and checked
whole; a malformed table is a :class:`~governance.errors.PolicyError`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass

from governance.errors import PolicyError

RECALIBRATION_FILE = "recalibration.toml"


@dataclass(frozen=True)
class Recalibration:
    """One kind's rule; ``None``: that trigger is off (one of the two is always on)."""

    kind: str
    every_readings: int | None
    every_minutes: float | None

    def due(self, pending: int, minutes_since: float) -> bool:
        """Whether a twin with ``pending`` readings since its latest state, made
        ``minutes_since`` ago, is due (never without a pending reading)."""
        if pending < 1:
            return False
        if self.every_readings is not None and pending >= self.every_readings:
            return True
        return self.every_minutes is not None and minutes_since >= self.every_minutes


def _fail(where: str, what: str) -> PolicyError:
    return PolicyError(f"{RECALIBRATION_FILE}: {where}: {what}")


def _rule(kind: str, spec: object) -> Recalibration:
    where = f"kinds.{kind}"
    if not isinstance(spec, dict):
        raise _fail(where, "must be a table")
    extra = sorted(set(spec) - {"every_readings", "every_minutes"})
    if extra:
        raise _fail(where, f"{extra[0]} is not a setting (every_readings, every_minutes)")
    readings, minutes = spec.get("every_readings"), spec.get("every_minutes")
    if readings is None and minutes is None:
        raise _fail(where, "give every_readings, every_minutes or both")
    if readings is not None and (
        isinstance(readings, bool) or not isinstance(readings, int) or readings < 1
    ):
        raise _fail(where, "every_readings must be a whole number of at least 1")
    if minutes is not None and (
        isinstance(minutes, bool)
        or not isinstance(minutes, int | float)
        or not math.isfinite(minutes)
        or minutes <= 0
    ):
        raise _fail(where, "every_minutes must be a positive number")
    return Recalibration(kind, readings, None if minutes is None else float(minutes))


def parse_recalibration(text: str) -> Mapping[str, Recalibration]:
    """The rules by twin kind (``models.card.TwinKind`` values); :class:`PolicyError`
    naming the first fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{RECALIBRATION_FILE} is not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"kinds"})
    if extra:
        raise _fail(extra[0], "is not a table of this file (only [kinds.<twin kind>])")
    kinds = data.get("kinds", {})
    if not isinstance(kinds, dict):
        raise _fail("kinds", "must be a table of [kinds.<twin kind>]")
    return {str(kind): _rule(str(kind), spec) for kind, spec in kinds.items()}
