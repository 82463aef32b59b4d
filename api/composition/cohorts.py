"""Cohorts for researchers: drawn from a population prior (size, covariate
distributions, seed: virtual patients) or from the site's patient twins whose consents
cover ``research`` (never others; at least the minimum cell size of
``policies/research.toml``); listed and read. Each is a new version of its name, stored
with what it was drawn from and its digest, and audited (``cohort.create``).

Order as on every route: the token's revocation was read by the HTTP layer, then the
role (``cohort`` ``create`` / ``read``), then the body.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from api.composition.research_input import decode, mapping, only, text
from governance.audit.chain import AuditLog
from governance.canonical import iso_utc
from governance.clock import utcnow
from governance.errors import Forbidden, InvalidInput, NotFound
from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle, VersionState
from governance.policy.store import PolicyStore
from governance.research.cohorts import PATIENTS, PRIOR, Cohort, CohortStore
from governance.research.members import RESEARCH, consenting, site_twins, still_in
from models.card import TwinKind
from models.trials import CohortPrior, TrialInputError

#: The twin kinds a cohort can be drawn for (the trial engine's model).
COHORT_KINDS = frozenset({TwinKind.PK_VANCOMYCIN.value})


class CohortService:
    def __init__(
        self, engine: Engine, audit: AuditLog, policies: PolicyStore, lifecycle: Lifecycle
    ) -> None:
        self._engine = engine
        self._policies = policies
        self._lifecycle = lifecycle
        self.store = CohortStore(engine, audit)

    def _require(self, principal: Principal, act: str) -> None:
        self._lifecycle.require_on(principal, "cohort", act, subject="cohorts")

    def create(self, principal: Principal, body: bytes) -> Cohort:
        self._require(principal, "create")
        data = decode(body)
        only(data, {"name", "model", "source", "prior"})
        name = text(data, "name", pattern=True)
        state = self.model_version(text(data, "model"))
        source = data.get("source")
        if source == PRIOR:
            return self._from_prior(principal, name, state, mapping(data, "prior"))
        if source == PATIENTS:
            only(data, {"name", "model", "source"})
            return self._from_patients(principal, name, state)
        raise InvalidInput("source must be 'prior' or 'patients'", field="source")

    def model_version(self, model: str) -> VersionState:
        """The model's approved version (else its latest): the card a cohort is drawn for."""
        versions = self._lifecycle.versions(model)
        if not versions:
            raise NotFound(f"unknown model {model!r}; GET /v1/models lists the models")
        state = self._lifecycle.serving.serving_version(model) or versions[-1]
        if state.kind not in COHORT_KINDS:
            raise InvalidInput(
                f"model: cohorts are drawn for twins of kind {sorted(COHORT_KINDS)}; "
                f"{model} is {state.kind}",
                field="model",
            )
        return state

    def _from_prior(
        self, principal: Principal, name: str, state: VersionState, raw: dict[str, Any]
    ) -> Cohort:
        try:
            prior = CohortPrior.from_mapping(raw)
        except TrialInputError as exc:
            raise InvalidInput(str(exc), field=exc.field) from exc
        most = self._policies.current().research.max_virtual_cohort_size
        if prior.size > most:
            raise InvalidInput(
                f"prior.size must be at most {most:,} (policies/research.toml)", field="prior.size"
            )
        spec = prior.as_dict()
        return self.store.create(principal, name, PRIOR, None, state.model, spec, [], prior.size)

    def _from_patients(self, principal: Principal, name: str, state: VersionState) -> Cohort:
        policy = self._policies.current()
        site = principal.site
        if (
            site is None
            or not policy.allows(principal.role, site, site, "cohort", "draw_patients").allowed
        ):
            raise Forbidden(
                f"role {principal.role!r} may not draw cohorts from patients: a researcher "
                "whose token carries a site draws from that site's patient twins"
            )
        categories = sorted(state.card.data_categories)
        twins = site_twins(self._engine, site, state.model)
        ok = consenting(self._engine, site, [m.patient for m in twins], categories, utcnow())
        members = still_in(twins, ok)
        rules = policy.research
        if len(members) < rules.min_cell_size:
            raise Forbidden(
                f"fewer than {rules.min_cell_size} patients of {site} have a twin of "
                f"{state.model} and consent to {RESEARCH} covering {categories}: a cohort of "
                "real patients is not drawn below the minimum cell size (policies/research.toml)"
            )
        if len(members) > rules.max_patient_cohort_size:
            members = members[: rules.max_patient_cohort_size]
        spec = {"site": site, "model": state.model, "purpose": RESEARCH,
                "data_categories": categories, "drawn_at": iso_utc(utcnow())}  # fmt: skip
        return self.store.create(
            principal, name, PATIENTS, site, state.model, spec, members, len(members)
        )

    def listing(self, principal: Principal) -> list[Cohort]:
        """The cohorts drawn from priors, and those of the caller's site."""
        self._require(principal, "read")
        return self.store.of_sites([None, principal.site] if principal.site else [None])

    def get(self, principal: Principal, cohort_id: str) -> Cohort:
        """A cohort the caller may see (another site's is not found, like none)."""
        self._require(principal, "read")
        return self.visible(principal, cohort_id)

    def visible(self, principal: Principal, cohort_id: str) -> Cohort:
        cohort = self.store.get(cohort_id)
        if cohort.site is not None and cohort.site != principal.site:
            raise NotFound(f"no cohort {cohort_id}")
        return cohort
