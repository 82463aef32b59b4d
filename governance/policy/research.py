"""What research may release (``policies/research.toml``): the minimum cell size of
results drawn from real patients, and the largest cohort a prior may draw. Parsed and
checked whole; a malformed file is a :class:`~governance.errors.PolicyError`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from governance.errors import PolicyError

RESEARCH_FILE = "research.toml"
_SETTINGS = {"min_cell_size", "max_virtual_cohort_size", "max_patient_cohort_size"}


@dataclass(frozen=True)
class ResearchRules:
    #: A count of real patients below it is suppressed (with a complementary cell).
    min_cell_size: int
    #: The largest cohort drawn from a population prior.
    max_virtual_cohort_size: int
    #: The most patient twins one real-patient cohort may hold.
    max_patient_cohort_size: int


def _fail(what: str) -> PolicyError:
    return PolicyError(f"{RESEARCH_FILE}: {what}")


def _whole(data: dict[str, object], name: str, least: int) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise _fail(f"cohorts.{name} must be a whole number of at least {least}")
    return value


def parse_research(text: str) -> ResearchRules:
    """The rules; :class:`PolicyError` naming the first fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"cohorts"})
    if extra:
        raise _fail(f"{extra[0]} is not a table of this file (only [cohorts])")
    cohorts = data.get("cohorts")
    if not isinstance(cohorts, dict):
        raise _fail("[cohorts] is required")
    unknown = sorted(set(cohorts) - _SETTINGS)
    if unknown:
        raise _fail(f"cohorts.{unknown[0]} is not a setting ({', '.join(sorted(_SETTINGS))})")
    return ResearchRules(
        min_cell_size=_whole(cohorts, "min_cell_size", 2),
        max_virtual_cohort_size=_whole(cohorts, "max_virtual_cohort_size", 1),
        max_patient_cohort_size=_whole(cohorts, "max_patient_cohort_size", 1),
    )
