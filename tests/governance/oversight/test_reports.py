"""The ethics-board report and its exports, over a real SQLite governance database.

``bench_report`` (not a test) times the report over a large synthetic audit log:
``.venv/bin/python -m tests.governance.oversight.test_reports [n_records]``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from api.cli.bench_reports import CONSENT_DETAIL, bench_report, decision_payload
from governance.audit.chain import AuditLog
from governance.audit.policy_stamp import PolicyStamp
from governance.audit.verify import Checkpoint
from governance.clock import utcnow
from governance.consent.patients import PatientService
from governance.errors import InvalidInput
from governance.identity.principal import Principal
from governance.identity.pseudonym import Pseudonymiser
from governance.lifecycle.versions import Lifecycle
from governance.oversight.overrides import OverrideService
from governance.oversight.report_export import CSV_HEADER, to_csv, to_html, to_json
from governance.oversight.reports import EthicsReport, build_report
from governance.policy.store import PolicyStore
from models.card import FeatureSpec, TwinCard, TwinKind
from tests.governance.dossier_evidence import record_passing_dossier

POLICIES = Path(__file__).resolve().parents[3] / "policies"
DANA = Principal("dana", "data_scientist")
VIC = Principal("vic", "validator")
EVE = Principal("eve", "ethics_board")
CAL = Principal("cal", "clinician", "north")


def card() -> TwinCard:
    return TwinCard(
        kind=TwinKind.LOGISTIC_REGRESSION,
        description="sepsis risk",
        outcome="sepsis within 48 h",
        intended_purposes=("treatment", "research"),
        features=(FeatureSpec("age", "int", "years", 18, 110),),
        envelope={"age": (18.0, 100.0)},
        sensitive_attributes=("sex",),
        data_categories=("demographics",),
        threshold=0.5,
    )


@dataclass
class World:
    engine: Engine
    audit: AuditLog
    start: datetime
    released_id: str


@pytest.fixture()
def world(sqlite_engine: Engine) -> World:
    engine = sqlite_engine
    audit = AuditLog(engine)
    policies = PolicyStore(POLICIES)
    lifecycle = Lifecycle(engine, audit, policies)
    patients = PatientService(engine, audit, policies, Pseudonymiser(b"k" * 32))
    start = utcnow()

    def register(version: str) -> None:
        lifecycle.record_registration(
            DANA,
            model="sepsis",
            version=version,
            kind="logistic_regression",
            artifact_sha256="a" * 64,
            evaluation_digest="e" * 64,
            run_id="run" + version,
            card=card(),
            environment={"python": "3.11"},
        )

    register("1")
    lifecycle.record_bias_audit(VIC, "sepsis", "1", passed=True, metrics={})
    record_passing_dossier(lifecycle, VIC, "sepsis", "1")
    lifecycle.approve(VIC, "sepsis", "1", "meets the dossier")
    register("2")
    lifecycle.record_bias_audit(VIC, "sepsis", "2", passed=False, metrics={})
    lifecycle.reject(VIC, "sepsis", "2", "TPR gap 0.21 for sex")
    lifecycle.suspend(EVE, "sepsis", "1", "drift in lactate assay")
    lifecycle.reinstate(EVE, "sepsis", "1", "assay recalibrated")
    register("3")
    lifecycle.record_bias_audit(VIC, "sepsis", "3", passed=True, metrics={})
    record_passing_dossier(lifecycle, VIC, "sepsis", "3")
    lifecycle.approve(VIC, "sepsis", "3", "better calibration")  # retires 1

    for pid in ("p1", "p2", "p3"):
        patients.register(CAL, pid, "north")
    patients.grant(CAL, "p1", "treatment", ["demographics"], None, None)
    withdrawn = patients.grant(CAL, "p2", "treatment", ["demographics"], None, None)
    patients.grant(CAL, "p1", "research", ["demographics"], None, None)
    patients.withdraw(CAL, "p2", withdrawn.id)

    append = audit.append
    released_id = append("prediction", decision_payload("released", "1")).record_id
    append("prediction", decision_payload("released", "1", warnings=("age=101 outside",)))
    append("prediction", decision_payload("released", "3"))
    for _ in range(2):
        append("prediction", decision_payload("withheld", "1", ("consent", CONSENT_DETAIL)))
    append("prediction", decision_payload("withheld", "1", ("consent", "other categories")))
    append("prediction", decision_payload("withheld", "3", ("bias_audit", "too old")))
    append("prediction", decision_payload("withheld", None, ("approval", "no approved version")))
    append(
        "prediction.refused",
        {"principal": None, "decision": "refused", "reason": "age must be a number"},
    )
    OverrideService(engine, audit, policies).record(
        CAL, released_id, "overridden", "=clinical picture disagrees"
    )
    return World(engine, audit, start, released_id)


def report_of(world: World, **kw: Any) -> EthicsReport:
    args: dict[str, Any] = {
        "since": world.start - timedelta(seconds=1),
        "until": utcnow() + timedelta(seconds=1),
        "max_age_days": 180.0,
    }
    args.update(kw)
    return build_report(world.engine, **args)


# -- sections ---------------------------------------------------------------------------------
def test_decisions_by_outcome_version_and_reason(world: World) -> None:
    d = report_of(world).decisions
    assert (d.released, d.withheld, d.refused, d.released_with_warnings) == (3, 5, 1, 1)
    rows = {
        (v.model, v.model_version): (v.released, v.withheld, v.refused) for v in d.by_model_version
    }
    assert rows == {
        ("sepsis", "1"): (2, 3, 0),
        ("sepsis", "3"): (1, 1, 0),
        ("sepsis", None): (0, 1, 0),
        (None, None): (0, 0, 1),
    }
    by_check = {r.check: r for r in d.withheld_by_reason}
    assert list(by_check) == ["consent", "approval", "bias_audit"]  # most frequent first
    consent = by_check["consent"]
    assert consent.count == 3
    assert [(t.detail, t.count) for t in consent.top_details] == [
        (CONSENT_DETAIL, 2),
        ("other categories", 1),
    ]
    [refused] = d.refused_by_reason
    assert (refused.check, refused.count) == ("input", 1)
    assert refused.top_details[0].detail == "age must be a number"


def test_consent_grants_withdrawals_and_coverage(world: World) -> None:
    c = report_of(world).consent
    assert (c.grants, c.withdrawals, c.registered_patients) == (3, 1, 3)
    purposes = {p.purpose: p for p in c.by_purpose}
    assert (purposes["treatment"].grants, purposes["treatment"].withdrawals) == (2, 1)
    assert purposes["treatment"].patients_covered == 1  # p2 withdrew
    assert purposes["treatment"].coverage == pytest.approx(1 / 3, abs=1e-4)
    assert purposes["research"].patients_covered == 1


def test_coverage_is_taken_at_the_end_of_the_period(world: World) -> None:
    # Before anything happened: nothing registered, nothing covered.
    early = report_of(world, until=world.start)
    assert early.consent.registered_patients == 0
    assert early.consent.by_purpose == ()


def test_bias_audits_passed_failed_and_expired(world: World) -> None:
    b = report_of(world).bias_audits
    assert (b.passed, b.failed, b.expired) == (2, 1, ())
    assert [(a.model_version, a.passed, a.auditor) for a in b.audits] == [
        ("1", True, "vic"),
        ("2", False, "vic"),
        ("3", True, "vic"),
    ]
    # A day later, with a half-day maximum age, the passing audits have expired.
    later = report_of(world, until=utcnow() + timedelta(days=1), max_age_days=0.5)
    expired = {(e.model_version, e.status) for e in later.bias_audits.expired}
    assert expired == {("1", "retired"), ("3", "approved")}  # v2's latest audit failed
    assert all(e.age_days >= 0.99 for e in later.bias_audits.expired)


def test_lifecycle_events_say_who_and_why(world: World) -> None:
    lc = report_of(world).lifecycle
    assert [(t.model_version, t.actor, t.reason) for t in lc.approvals] == [
        ("1", "vic", "meets the dossier"),
        ("3", "vic", "better calibration"),
    ]
    assert [(t.model_version, t.reason) for t in lc.rejections] == [("2", "TPR gap 0.21 for sex")]
    assert [(t.actor, t.reason) for t in lc.suspensions] == [("eve", "drift in lactate assay")]
    assert [(t.from_status, t.reason) for t in lc.reinstatements] == [
        ("suspended", "assay recalibrated")
    ]
    assert [(t.model_version, t.reason) for t in lc.retirements] == [
        ("1", "superseded by version 3")
    ]


def test_overrides_with_their_reasons(world: World) -> None:
    o = report_of(world).overrides
    assert (o.total, o.disregarded, o.overridden) == (1, 0, 1)
    [entry] = o.entries
    assert (entry.audit_id, entry.clinician, entry.site) == (world.released_id, "cal", "north")
    assert entry.reason == "=clinical picture disagrees"


def test_the_period_filters_every_section(world: World) -> None:
    after = utcnow() + timedelta(seconds=1)
    r = build_report(world.engine, after, after + timedelta(days=1), 180.0)
    assert (r.decisions.released, r.decisions.withheld, r.decisions.refused) == (0, 0, 0)
    assert (r.consent.grants, r.bias_audits.passed, r.overrides.total) == (0, 0, 0)
    assert r.lifecycle.approvals == ()
    assert r.audit_chain.records_in_period == 0
    assert r.audit_chain.records_total == world.audit.count()
    assert r.consent.registered_patients == 3  # coverage is a state, not an event


def test_audit_chain_status_and_checkpoints(world: World) -> None:
    count, head = world.audit.head()
    good = report_of(world, checkpoints=[Checkpoint(count, head, utcnow())])
    assert good.audit_chain.ok
    assert good.audit_chain.verified_records == count
    assert good.audit_chain.checkpoints_checked == 1
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE audit_record SET body = replace(body, 'withheld', 'released') "
                "WHERE seq = :s"
            ),
            {"s": count - 2},
        )
    broken = report_of(world).audit_chain
    assert not broken.ok
    assert broken.first_bad_seq == count - 2
    assert str(count - 2) in broken.message


def test_bad_periods_are_refused(world: World) -> None:
    now = utcnow()
    with pytest.raises(InvalidInput) as info:
        build_report(world.engine, now, now, 180.0)
    assert info.value.field == "until"
    with pytest.raises(InvalidInput):
        build_report(world.engine, now, now + timedelta(days=1), 0)


def test_naive_datetimes_are_utc(world: World) -> None:
    since = (world.start - timedelta(seconds=1)).replace(tzinfo=None)
    until = (utcnow() + timedelta(seconds=1)).replace(tzinfo=None)
    r = build_report(world.engine, since, until, 180.0)
    assert r.decisions.released == 3
    assert r.since.tzinfo is UTC


# -- exports ----------------------------------------------------------------------------------
def test_json_export_is_the_report_as_data(world: World) -> None:
    report = report_of(world)
    data = json.loads(to_json(report))
    assert data == report.to_dict()
    assert data["decisions"]["withheld_by_reason"][0]["check"] == "consent"
    assert data["since"].endswith("Z")
    assert data["audit_chain"]["ok"] is True


def test_csv_export_parses_as_section_row_field_value(world: World) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(report_of(world)))))
    assert tuple(rows[0]) == CSV_HEADER
    assert all(len(r) == 4 for r in rows)
    cells = {(s, r, f): v for s, r, f, v in rows[1:]}
    assert cells[("decisions", "", "released")] == "3"
    assert cells[("audit_chain", "", "ok")] == "true"
    assert cells[("decisions.withheld_by_reason", "0", "check")] == "consent"
    details = json.loads(cells[("decisions.withheld_by_reason", "0", "top_details")])
    assert details[0] == {"count": 2, "detail": CONSENT_DETAIL}
    assert cells[("lifecycle.suspensions", "0", "actor")] == "eve"
    assert cells[("decisions.by_model_version", "3", "model")] == ""  # null
    # A reason a spreadsheet would run as a formula is defused.
    assert cells[("overrides.entries", "0", "reason")] == "'=clinical picture disagrees"


def test_html_export_is_self_contained_with_two_charts(world: World) -> None:
    page = to_html(report_of(world))
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2
    assert "http" not in page.lower()
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    for text_ in ("drift in lactate assay", "TPR gap 0.21 for sex", CONSENT_DETAIL.split("'")[0]):
        assert text_ in page
    assert "@media print" in page


def test_html_escapes_what_people_typed(sqlite_engine: Engine) -> None:
    audit = AuditLog(sqlite_engine)
    start = utcnow()
    evil = "<script>alert(1)</script>"
    audit.append("prediction", decision_payload("withheld", "1", (evil, evil), model=evil))
    audit.append("prediction", decision_payload("released", "1", model=evil))
    r = build_report(sqlite_engine, start, utcnow() + timedelta(seconds=1), 180.0)
    page = to_html(r)
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert page.count("<svg") == 2


def test_html_without_decisions_has_no_charts(sqlite_engine: Engine) -> None:
    now = utcnow()
    page = to_html(build_report(sqlite_engine, now - timedelta(days=30), now, 180.0))
    assert "<svg" not in page
    assert "No decisions in this period." in page


def test_the_benchmark_runs_small() -> None:
    result = bench_report(2_000)
    assert result["records"] >= 2_000
    assert result["decisions"] == 2_000
    assert result["chain_ok"] is True


def test_the_policy_versions_in_force_and_their_changes(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    store = PolicyStore(policies)
    audit = AuditLog(sqlite_engine, PolicyStamp(store))
    v1 = store.current().version
    audit.append("consent.grant", {"consent": "c-1"})
    start = utcnow()
    with (policies / "ethics.toml").open("a", encoding="utf-8") as f:
        f.write("\n# reviewed by the ethics board\n")
    store.invalidate()
    v2 = store.current().version
    audit.append("consent.grant", {"consent": "c-2"})
    end = utcnow() + timedelta(seconds=1)
    r = build_report(sqlite_engine, start, end, 180.0)
    assert r.policies.in_force_at_end == v2
    assert [(c.from_version, c.to_version) for c in r.policies.changes] == [(v1, v2)]
    before = build_report(sqlite_engine, start - timedelta(days=1), start, 180.0)
    assert before.policies.in_force_at_end == v1
    assert [(c.from_version, c.to_version) for c in before.policies.changes] == [(None, v1)]
    rows = list(csv.reader(io.StringIO(to_csv(r))))
    assert ["policies", "", "in_force_at_end", v2] in rows
    assert ["policies.changes", "0", "to_version", v2] in rows
    page = to_html(r)
    assert "Policy versions" in page and v2 in page and v1 in page
