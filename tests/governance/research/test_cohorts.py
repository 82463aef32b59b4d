"""Cohorts in the governance store, on SQLite and PostgreSQL: versioned by name, each
with what it was drawn from and its digest, committed with its audit record (never a
member); members are the site's twins whose consents cover research, never others."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.errors import NotFound
from governance.identity.principal import Principal
from governance.research.cohorts import PATIENTS, PRIOR, CohortStore, Member, cohort_digest
from governance.research.members import consenting, site_twins
from governance.twins.bank import TwinBank
from tests.governance.research.conftest import CATEGORIES, MODEL, SITE, add_patient

RESEARCHER = Principal("rita", "researcher", SITE)
PRIOR_SPEC = {"size": 1000, "seed": 7, "covariates": {"weight": {"dist": "lognormal"}}}


def test_a_name_is_versioned_and_each_version_keeps_what_it_was_drawn_from(
    engine: Engine, audit: AuditLog
) -> None:
    store = CohortStore(engine, audit)
    first = store.create(RESEARCHER, "icu", PRIOR, None, MODEL, PRIOR_SPEC, [], 1000)
    second = store.create(
        RESEARCHER, "icu", PRIOR, None, MODEL, {**PRIOR_SPEC, "seed": 8}, [], 1000
    )
    assert (first.version, second.version) == (1, 2)
    assert store.get(first.id).spec == PRIOR_SPEC  # the earlier version unchanged
    assert first.digest != second.digest
    assert first.digest == cohort_digest("icu", 1, PRIOR, None, MODEL, PRIOR_SPEC, [])
    assert {c.id for c in store.of_sites([None])} == {first.id, second.id}
    assert store.of_sites([SITE]) == []
    with pytest.raises(NotFound):
        store.get("no-such-cohort")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT body FROM audit_record WHERE action = 'cohort.create' ORDER BY seq")
        ).all()
    record = json.loads(rows[-1][0])["payload"]
    assert record["cohort_digest"] == second.digest and record["version"] == 2
    assert verify(engine).ok


def test_members_are_the_sites_twins_whose_consents_cover_research(
    engine: Engine, audit: AuditLog, bank: TwinBank
) -> None:
    ours = [add_patient(engine, bank) for _ in range(3)]
    treatment_only = add_patient(engine, bank, purpose="treatment")
    too_narrow = add_patient(engine, bank, categories=["demographics"])
    elsewhere = add_patient(engine, bank, site="st-john")
    other_model = add_patient(engine, bank, model="glucose-t1d-tir")
    twins = site_twins(engine, SITE, MODEL)
    assert {m.patient for m in twins} == {p[0] for p in [*ours, treatment_only, too_narrow]}
    assert elsewhere[0] not in {m.patient for m in twins}
    assert other_model[0] not in {m.patient for m in twins}
    now = datetime.now(UTC)
    keys = [m.patient for m in twins] + [elsewhere[0]]
    assert consenting(engine, SITE, keys, CATEGORIES, now) == {p[0] for p in ours}
    # a patient of another site is never counted, whatever their consent
    assert consenting(engine, SITE, [elsewhere[0]], CATEGORIES, now) == frozenset()


def test_a_patient_cohort_record_holds_keys_and_twins_never_an_id(
    engine: Engine, audit: AuditLog, bank: TwinBank
) -> None:
    key, _, twin = add_patient(engine, bank)
    store = CohortStore(engine, audit)
    cohort = store.create(
        RESEARCHER, "ward", PATIENTS, SITE, MODEL, {"site": SITE}, [Member(key, twin)], 1
    )
    assert cohort.real_patients and cohort.members == (Member(key, twin),)
    assert "members" not in cohort.to_dict() and cohort.to_dict()["size"] == 1
    with engine.connect() as conn:
        body = conn.execute(
            text("SELECT body FROM audit_record WHERE action = 'cohort.create'")
        ).scalar_one()
    assert key not in body and twin not in body
