"""The CDS Hooks map (``policies/cds_feature_codes.toml``): which statistical twin the
``risk`` service serves and for which purpose, the vancomycin dosing services' draft orders
and grid, and where each of a twin's features comes from in FHIR (LOINC / SNOMED CT codes,
UCUM units and their factors). Parsed and checked whole; a malformed map is a
:class:`~governance.errors.PolicyError` like every other policy file.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from governance.errors import PolicyError

FEATURE_CODES_FILE = "cds_feature_codes.toml"
SOURCES = frozenset({"observation", "patient_age", "patient_gender", "condition", "none"})
TRANSFORMS = frozenset({"ln"})


@dataclass(frozen=True)
class Code:
    """A coding: its system (a URI) and its code."""

    system: str
    code: str

    def token(self) -> str:
        return f"{self.system}|{self.code}"


@dataclass(frozen=True)
class FeatureSource:
    """Where one feature of a twin's card comes from (see the file's header)."""

    name: str
    source: str
    codes: tuple[Code, ...] = ()
    unit: str | None = None
    units: Mapping[str, float] = field(default_factory=dict)
    transform: str | None = None
    values: Mapping[str, float] = field(default_factory=dict)
    present: tuple[Code, ...] = ()
    absent: tuple[Code, ...] = ()
    absence: float | None = None
    history: bool = False
    #: The observation kind (``kind`` or ``kind.component``) in twinreg's own store.
    held: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RiskService:
    model: str
    purpose: str
    title: str
    description: str


@dataclass(frozen=True)
class DosingService:
    kind: str
    title: str
    description: str
    medication_codes: tuple[Code, ...]
    medication_text: str | None
    target_auc24: tuple[float, float]
    intervals_h: tuple[float, ...]
    dose_step_mg: float
    max_daily_mg: float


@dataclass(frozen=True)
class FeatureCodes:
    risk: RiskService | None
    dosing: DosingService | None
    #: model -> feature -> its source.
    features: Mapping[str, Mapping[str, FeatureSource]]


def _fail(where: str, what: str) -> PolicyError:
    return PolicyError(f"{FEATURE_CODES_FILE}: {where}: {what}")


def _text(where: str, table: Mapping[str, Any], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where}.{key}", "must be a non-empty string")
    return value


def _number(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, "must be a finite number")
    return float(value)


def _codes(where: str, value: object) -> tuple[Code, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(where, 'must be a list of "system|code" strings')
    out = []
    for item in value:
        system, bar, code = item.partition("|") if isinstance(item, str) else ("", "", "")
        if not bar or not system.strip() or not code.strip():
            raise _fail(where, f'{item!r} is not "system|code"')
        out.append(Code(system, code))
    return tuple(out)


def _factors(where: str, value: object) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise _fail(where, "must be a table of name = number")
    return {str(k): _number(f"{where}.{k}", v) for k, v in value.items()}


def _feature(where: str, name: str, table: object) -> FeatureSource:
    if not isinstance(table, dict):
        raise _fail(where, "must be a table")
    source = table.get("source")
    if source not in SOURCES:
        raise _fail(f"{where}.source", f"must be one of {sorted(SOURCES)}")
    held = table.get("held")
    if held is not None and (not isinstance(held, str) or not held):
        raise _fail(f"{where}.held", "must be an observation kind name")
    absence = table.get("absence")
    feature = FeatureSource(
        name=name,
        source=source,
        codes=_codes(f"{where}.codes", table.get("codes")),
        unit=table.get("unit"),
        units=_factors(f"{where}.units", table.get("units")),
        transform=table.get("transform"),
        values=_factors(f"{where}.values", table.get("values")),
        present=_codes(f"{where}.present", table.get("present")),
        absent=_codes(f"{where}.absent", table.get("absent")),
        absence=None if absence is None else _number(f"{where}.absence", absence),
        history=bool(table.get("history", False)),
        held=held,
        reason=table.get("reason"),
    )
    _check_shape(where, feature)
    return feature


def _check_shape(where: str, f: FeatureSource) -> None:
    """Each source has what it needs."""
    if f.source in ("observation", "patient_age"):
        if f.source == "observation" and not f.codes:
            raise _fail(f"{where}.codes", "an observation feature needs its codes")
        if f.codes and (not isinstance(f.unit, str) or not f.units):
            raise _fail(f"{where}.units", "coded quantities need `unit` and `units`")
    if f.transform is not None and f.transform not in TRANSFORMS:
        raise _fail(f"{where}.transform", f"must be one of {sorted(TRANSFORMS)}")
    if f.source == "patient_gender" and not f.values:
        raise _fail(f"{where}.values", "a gender feature needs its values")
    if f.source == "condition" and not f.present:
        raise _fail(f"{where}.present", "a condition feature needs the codes that mean 1")
    if f.source == "none" and not isinstance(f.reason, str):
        raise _fail(f"{where}.reason", "say why no code represents the feature")


def _risk(table: object) -> RiskService | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise _fail("risk", "must be a table")
    return RiskService(
        *(_text("risk", table, k) for k in ("model", "purpose", "title", "description"))
    )


def _dosing(table: object) -> DosingService | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise _fail("dosing", "must be a table")
    target = table.get("target_auc24")
    if not isinstance(target, list) or len(target) != 2:
        raise _fail("dosing.target_auc24", "must be [low, high]")
    intervals = table.get("intervals_h")
    if not isinstance(intervals, list) or not intervals:
        raise _fail("dosing.intervals_h", "must be a list of hours")
    text = table.get("medication_text")
    return DosingService(
        kind=_text("dosing", table, "kind"),
        title=_text("dosing", table, "title"),
        description=_text("dosing", table, "description"),
        medication_codes=_codes("dosing.medication_codes", table.get("medication_codes")),
        medication_text=text if isinstance(text, str) and text else None,
        target_auc24=(
            _number("dosing.target_auc24", target[0]),
            _number("dosing.target_auc24", target[1]),
        ),
        intervals_h=tuple(_number("dosing.intervals_h", t) for t in intervals),
        dose_step_mg=_number("dosing.dose_step_mg", table.get("dose_step_mg")),
        max_daily_mg=_number("dosing.max_daily_mg", table.get("max_daily_mg")),
    )


def parse_feature_codes(text: str) -> FeatureCodes:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{FEATURE_CODES_FILE} is malformed: {exc}") from exc
    models = data.get("features", {})
    if not isinstance(models, dict):
        raise _fail("features", "must be a table of models")
    features: dict[str, dict[str, FeatureSource]] = {}
    for model, table in models.items():
        if not isinstance(table, dict):
            raise _fail(f"features.{model}", "must be a table of features")
        features[model] = {
            name: _feature(f"features.{model}.{name}", name, spec) for name, spec in table.items()
        }
    risk = _risk(data.get("risk"))
    if risk is not None and risk.model not in features:
        raise _fail("risk.model", f"{risk.model!r} has no [features.{risk.model!r}] table")
    return FeatureCodes(risk, _dosing(data.get("dosing")), features)
