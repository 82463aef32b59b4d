"""Virtual cohorts: covariates and individual deviations, columnar, reproducible from a seed.

A :class:`CohortPrior` says how to draw patients: weight, renal function (creatinine
clearance directly, or age, serum creatinine and sex through Cockcroft-Gault with Goti
2018's rules, :func:`models.dosing.prior.cockcroft_gault_array`), the fraction on
haemodialysis, and the individual deviations ``eta = [eta_CL, eta_V1, eta_V2]`` from the
vancomycin prior's variability (:data:`models.dosing.prior.OMEGA`).

Patients are drawn in blocks of :data:`BLOCK` with one generator per block seeded by
``(seed, block)``: any range of a cohort is drawn alone (:func:`draw` with ``start`` and
``stop``) and equals the same range of the whole cohort, so a worker can draw its own
chunk. :func:`from_patients` builds a cohort from given patients' covariates instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from models.dosing.prior import OMEGA, cockcroft_gault_array, typical_parameters
from models.mechanistic._validation import FloatArray
from models.trials._checks import number, whole
from models.trials.distributions import (
    Distribution,
    LogNormal,
    Normal,
    check_distribution,
    distribution_from_mapping,
)
from models.trials.errors import TrialInputError

BoolArray = npt.NDArray[np.bool_]

BLOCK = 1 << 16
MAX_SIZE = 50_000_000
#: Covariate ranges the vancomycin twin accepts (its input bounds), and the CG inputs'.
WEIGHT_RANGE = (30.0, 250.0)
CRCL_RANGE = (5.0, 200.0)
AGE_RANGE = (18.0, 120.0)
CREATININE_RANGE = (0.1, 20.0)
#: Largest |eta| accepted from given patients (log scale; 6 SD of the widest prior).
MAX_ABS_ETA = 6.0 * float(OMEGA.max())
#: Default covariate distributions of an adult ward population (illustrative, not fitted).
DEFAULT_WEIGHT = Normal(80.0, 20.0, 40.0, 180.0)
DEFAULT_AGE = Normal(60.0, 17.0, 18.0, 95.0)
DEFAULT_CREATININE = LogNormal(0.9, 0.4, 0.3, 8.0)


@dataclass(frozen=True)
class CockcroftGault:
    """Renal function from age, serum creatinine and sex (floored at 5 mL/min)."""

    age_years: Distribution = DEFAULT_AGE
    creatinine_mg_dl: Distribution = DEFAULT_CREATININE
    female_fraction: float = 0.45


@dataclass(frozen=True)
class CreatinineClearance:
    """Renal function drawn directly (mL/min)."""

    distribution: Distribution


Renal = CockcroftGault | CreatinineClearance


@dataclass(frozen=True)
class CohortPrior:
    """How to draw ``size`` virtual patients reproducibly from ``seed``."""

    size: int
    seed: int
    weight_kg: Distribution = DEFAULT_WEIGHT
    renal: Renal = field(default_factory=CockcroftGault)
    dialysis_fraction: float = 0.0

    def __post_init__(self) -> None:
        whole("prior.size", self.size, 1, MAX_SIZE)
        whole("prior.seed", self.seed, 0, 2**63 - 1)
        check_distribution("prior.weight_kg", self.weight_kg, *WEIGHT_RANGE)
        if isinstance(self.renal, CreatinineClearance):
            check_distribution("prior.creatinine_clearance", self.renal.distribution, *CRCL_RANGE)
        elif isinstance(self.renal, CockcroftGault):
            check_distribution("prior.age_years", self.renal.age_years, *AGE_RANGE)
            check_distribution(
                "prior.creatinine_mg_dl", self.renal.creatinine_mg_dl, *CREATININE_RANGE
            )
            number("prior.female_fraction", self.renal.female_fraction, 0.0, 1.0)
        else:
            raise TrialInputError("prior.renal", "creatinine clearance or Cockcroft-Gault inputs")
        number("prior.dialysis_fraction", self.dialysis_fraction, 0.0, 1.0)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CohortPrior:
        """From JSON: ``size``, ``seed``, optional ``weight_kg``, ``dialysis_fraction`` and
        either ``creatinine_clearance`` or any of ``age_years``, ``creatinine_mg_dl``,
        ``female_fraction`` (distributions as in :mod:`models.trials.distributions`)."""
        known = {"size", "seed", "weight_kg", "dialysis_fraction", "creatinine_clearance"}
        cg_keys = {"age_years", "creatinine_mg_dl", "female_fraction"}
        if not isinstance(data, Mapping) or set(data) - known - cg_keys:
            keys = ", ".join(sorted(known | cg_keys))
            raise TrialInputError("prior", f"an object with keys among {keys}", data)
        for key in ("size", "seed"):
            if key not in data:
                raise TrialInputError(f"prior.{key}", "given")
        renal: Renal
        if "creatinine_clearance" in data:
            if cg_keys & set(data):
                raise TrialInputError(
                    "prior.creatinine_clearance", "given without age_years, creatinine_mg_dl, "
                    "female_fraction (either clearance or its Cockcroft-Gault inputs)",
                )  # fmt: skip
            renal = CreatinineClearance(
                distribution_from_mapping(
                    "prior.creatinine_clearance", data["creatinine_clearance"], *CRCL_RANGE
                )
            )
        else:
            default = CockcroftGault()
            renal = CockcroftGault(
                _dist(data, "age_years", default.age_years, AGE_RANGE),
                _dist(data, "creatinine_mg_dl", default.creatinine_mg_dl, CREATININE_RANGE),
                data.get("female_fraction", default.female_fraction),
            )
        return cls(
            size=data["size"],
            seed=data["seed"],
            weight_kg=_dist(data, "weight_kg", DEFAULT_WEIGHT, WEIGHT_RANGE),
            renal=renal,
            dialysis_fraction=data.get("dialysis_fraction", 0.0),
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (what a cohort records it was drawn from)."""
        body: dict[str, Any] = {
            "size": self.size,
            "seed": self.seed,
            "weight_kg": self.weight_kg.as_dict(),
            "dialysis_fraction": self.dialysis_fraction,
        }
        if isinstance(self.renal, CreatinineClearance):
            body["creatinine_clearance"] = self.renal.distribution.as_dict()
        else:
            body["age_years"] = self.renal.age_years.as_dict()
            body["creatinine_mg_dl"] = self.renal.creatinine_mg_dl.as_dict()
            body["female_fraction"] = self.renal.female_fraction
        return body


def _dist(
    data: Mapping[str, Any], key: str, default: Distribution, bounds: tuple[float, float]
) -> Distribution:
    return distribution_from_mapping(f"prior.{key}", data[key], *bounds) if key in data else default


@dataclass(frozen=True)
class VirtualCohort:
    """Patients as columns: the twin's covariates and each patient's etas ``(n, 3)``.

    ``source`` records what the cohort came from (the prior's JSON form, or the number of
    given patients); ``extra`` keeps drawn covariates the model does not read (age, serum
    creatinine, sex), for description only.
    """

    weight_kg: FloatArray
    creatinine_clearance: FloatArray
    dialysis: BoolArray
    eta: FloatArray
    source: Mapping[str, Any]
    extra: Mapping[str, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.weight_kg.shape[0])

    def slice(self, start: int, stop: int) -> VirtualCohort:
        """Patients ``start`` to ``stop - 1`` (views, no copy)."""
        extra = {k: v[start:stop] for k, v in self.extra.items()}
        return VirtualCohort(
            self.weight_kg[start:stop],
            self.creatinine_clearance[start:stop],
            self.dialysis[start:stop],
            self.eta[start:stop],
            self.source,
            extra,
        )

    def digest(self) -> str:
        """SHA-256 (hex) of what the model reads: weights, clearances, dialysis, etas."""
        h = hashlib.sha256(b"twinreg-virtual-cohort-v1\n")
        h.update(json.dumps({"n": len(self)}).encode())
        for column in (self.weight_kg, self.creatinine_clearance, self.eta):
            h.update(np.ascontiguousarray(column, dtype="<f8").tobytes())
        h.update(np.ascontiguousarray(self.dialysis, dtype=np.uint8).tobytes())
        return h.hexdigest()

    def kinetic_parameters(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Each patient's ``CL, V1, Q, V2``: the prior's typical values times ``exp(eta)``."""
        n = len(self)
        typical = np.empty((n, 4))
        for on_dialysis in (False, True):
            rows = self.dialysis == on_dialysis
            if rows.any():
                typical[rows] = typical_parameters(
                    self.creatinine_clearance[rows], self.weight_kg[rows], on_dialysis
                )
        e = np.exp(self.eta)
        return (
            typical[:, 0] * e[:, 0],
            typical[:, 1] * e[:, 1],
            np.ascontiguousarray(typical[:, 2]),
            typical[:, 3] * e[:, 2],
        )


def _draw_block(prior: CohortPrior, block: int, n: int) -> dict[str, FloatArray]:
    rng = np.random.default_rng(np.random.SeedSequence([prior.seed, block]))
    u = rng.random((n, 5))
    columns = {"weight_kg": prior.weight_kg.quantile(u[:, 0])}
    if isinstance(prior.renal, CreatinineClearance):
        columns["creatinine_clearance"] = prior.renal.distribution.quantile(u[:, 1])
    else:
        age = prior.renal.age_years.quantile(u[:, 1])
        creatinine = prior.renal.creatinine_mg_dl.quantile(u[:, 2])
        female = u[:, 3] < prior.renal.female_fraction
        crcl = cockcroft_gault_array(creatinine, age, columns["weight_kg"], female)
        columns.update(
            creatinine_clearance=np.maximum(crcl, CRCL_RANGE[0]),
            age_years=age,
            creatinine_mg_dl=creatinine,
            female=female.astype(np.float64),
        )
    columns["dialysis"] = (u[:, 4] < prior.dialysis_fraction).astype(np.float64)
    columns["eta"] = OMEGA * rng.standard_normal((n, 3))
    return columns


def draw(prior: CohortPrior, start: int = 0, stop: int | None = None) -> VirtualCohort:
    """Patients ``start`` to ``stop - 1`` (default all) of the cohort ``prior`` describes."""
    end = prior.size if stop is None else stop
    if not 0 <= start < end <= prior.size:
        raise TrialInputError("cohort range", f"0 <= start < stop <= {prior.size}", (start, stop))
    parts = []
    for block in range(start // BLOCK, (end - 1) // BLOCK + 1):
        first = block * BLOCK
        columns = _draw_block(prior, block, min(BLOCK, prior.size - first))
        lo, hi = max(start - first, 0), min(end - first, BLOCK)
        parts.append({k: v[lo:hi] for k, v in columns.items()})
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    extra: dict[str, FloatArray] = {
        k: joined[k] for k in ("age_years", "creatinine_mg_dl", "female") if k in joined
    }
    return VirtualCohort(
        weight_kg=joined["weight_kg"],
        creatinine_clearance=joined["creatinine_clearance"],
        dialysis=joined["dialysis"] > 0.5,
        eta=np.ascontiguousarray(joined["eta"]),
        source={"prior": prior.as_dict()},
        extra=extra,
    )


def _column(
    name: str, values: npt.ArrayLike, n: int | None, bounds: tuple[float, float]
) -> FloatArray:
    try:
        array = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise TrialInputError(name, "an array of numbers") from exc
    if n is not None and array.size != n:
        raise TrialInputError(name, f"{n} values, one per patient", array.size)
    low, high = bounds
    bad = ~np.isfinite(array) | (array < low) | (array > high)
    if array.size == 0 or bad.any():
        got = float(array[bad][0]) if bad.any() else "no patient"
        raise TrialInputError(name, f"finite numbers in [{low:g}, {high:g}]", got)
    return array


def from_patients(
    weight_kg: npt.ArrayLike,
    creatinine_clearance: npt.ArrayLike,
    *,
    dialysis: npt.ArrayLike | None = None,
    eta: npt.ArrayLike | None = None,
    seed: int = 0,
) -> VirtualCohort:
    """A cohort of given patients (one row each, in the order given).

    Their individual deviations are the twins' calibrated ``eta`` when given, else drawn
    from the prior's variability with ``seed`` (each patient stands for patients like
    them). Covariates outside the twin's ranges are refused, naming the column.
    """
    weights = _column("weight_kg", weight_kg, None, WEIGHT_RANGE)
    n = weights.size
    crcl = _column("creatinine_clearance", creatinine_clearance, n, CRCL_RANGE)
    flags = np.zeros(n, dtype=bool)
    if dialysis is not None:
        flags = _column("dialysis", dialysis, n, (0.0, 1.0)) > 0.5
    whole("seed", seed, 0, 2**63 - 1)
    if eta is None:
        etas = OMEGA * np.random.default_rng(seed).standard_normal((n, 3))
        source: dict[str, Any] = {"patients": n, "eta": "drawn", "seed": seed}
    else:
        flat = _column("eta", eta, 3 * n, (-MAX_ABS_ETA, MAX_ABS_ETA))
        etas = flat.reshape(n, 3)
        source = {"patients": n, "eta": "given"}
    return VirtualCohort(weights, crcl, flags, np.ascontiguousarray(etas), source)
