"""Validation dossiers: judging by policy, credibility risk levels, change control, storage
and the approval requirement, over a real SQLite governance database."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from governance.audit.chain import AuditLog
from governance.audit.verify import verify
from governance.errors import DossierRequired, PolicyError
from governance.identity.principal import Principal
from governance.lifecycle.versions import Lifecycle
from governance.policy.credibility import parse_credibility
from governance.policy.store import PolicyStore
from governance.validation.change_control import card_changes, change_control
from governance.validation.dossier import DossierEvidence, judge
from governance.validation.dossier_limits import criteria_digest, dossier_limits
from models.card import FeatureSpec, TwinCard, TwinKind
from tests.governance.dossier_evidence import estimate, evidence_for, record_passing_dossier

POLICIES = Path(__file__).resolve().parents[3] / "policies"
DANA = Principal("dana", "data_scientist")
VIC = Principal("vic", "validator")


def card(
    kind: TwinKind = TwinKind.LOGISTIC_REGRESSION,
    purposes: tuple[str, ...] = ("treatment", "research"),
    **changes: Any,
) -> TwinCard:
    extra: dict[str, Any] = {}
    if kind.is_mechanistic:
        extra = {"output": "auc24", "outputs": ["auc24"]}
    base = TwinCard(
        kind=kind,
        description="sepsis risk",
        outcome="sepsis within 48 h",
        intended_purposes=purposes,
        features=(
            FeatureSpec("age", "int", "years", 18, 110),
            FeatureSpec("lactate", "float", "mmol/L", 0, 30),
        ),
        envelope={"age": (18.0, 90.0), "lactate": (0.5, 12.0)},
        sensitive_attributes=("sex",),
        data_categories=("demographics", "labs"),
        threshold=0.5 if kind.prediction_kind == "probability" else None,
        horizon=30.0 if kind is TwinKind.COX_PH else None,
        extra=extra,
    )
    return replace(base, **changes)


@pytest.fixture()
def limits() -> Any:
    return dossier_limits(PolicyStore(POLICIES).current().thresholds)


@pytest.fixture()
def credibility() -> Any:
    return PolicyStore(POLICIES).current().credibility


# -- policy files ---------------------------------------------------------------------------
def test_the_repository_policies_parse(limits: Any, credibility: Any) -> None:
    assert limits.resamples == 300 and limits.level == 0.95
    assert limits.family["classifier"]["min_auc_lower"] == 0.70
    assert limits.explanation_rows(True) < limits.explanation_rows(False)
    assert len(criteria_digest(limits, credibility)) == 64


def test_a_missing_dossier_limit_is_a_policy_error() -> None:
    thresholds = PolicyStore(POLICIES).current().thresholds
    broken = json.loads(json.dumps(thresholds))
    del broken["dossier"]["classifier"]["min_auc_lower"]
    with pytest.raises(PolicyError, match="min_auc_lower"):
        dossier_limits(broken)
    with pytest.raises(PolicyError, match=r"\[dossier\]"):
        dossier_limits({})


def test_a_broken_credibility_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="influence"):
        parse_credibility('[purposes.treatment]\ninfluence = "huge"\n')
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_credibility("[purposes")
    # it is one of the policy files: broken or missing, it withholds everything
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    store = PolicyStore(policies)
    version = store.current().version
    (policies / "credibility.toml").write_text("[purposes")
    store.invalidate()
    with pytest.raises(PolicyError, match=r"credibility\.toml"):
        store.current()
    (policies / "credibility.toml").unlink()
    store.invalidate()
    with pytest.raises(PolicyError, match=r"credibility\.toml"):
        store.current()
    # its digest is the file's own SHA-256 (as stored, whatever its line endings)
    crlf = (POLICIES / "credibility.toml").read_bytes().replace(b"\n", b"\r\n")
    (policies / "credibility.toml").write_bytes(crlf)
    store.invalidate()
    assert store.current().credibility.sha256 == hashlib.sha256(crlf).hexdigest()
    # and its content is part of the policy version
    shutil.copy(POLICIES / "credibility.toml", policies / "credibility.toml")
    with (policies / "credibility.toml").open("a") as f:
        f.write("\n# a reviewed comment\n")
    store.invalidate()
    assert store.current().version != version


# -- credibility ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("purposes", "level", "governing"),
    [
        (("treatment", "research"), 4, "treatment"),
        (("research",), 2, "research"),
        (("quality-improvement",), 2, "quality-improvement"),
        (("research", "bedside-triage"), 5, "bedside-triage"),
    ],
)
def test_risk_level_is_the_highest_over_the_purposes(
    limits: Any, credibility: Any, purposes: tuple[str, ...], level: int, governing: str
) -> None:
    c = card(purposes=purposes)
    record = judge(c, evidence_for(c), limits, credibility).credibility
    assert record.risk_level == level and record.governing_purpose == governing
    assert record.context_of_use["intended_purposes"] == list(purposes)
    required = {e.item for e in record.evidence if e.required}
    assert required == set(credibility.evidence[level])


def test_an_unlisted_purpose_is_the_highest_risk_and_never_passes(
    limits: Any, credibility: Any
) -> None:
    c = card(purposes=("bedside-triage",))
    judgement = judge(c, evidence_for(c), limits, credibility)
    assert not judgement.passed
    assert any("clinical_evaluation" in r for r in judgement.reasons)
    assert judgement.credibility.purposes[0].influence == "unknown"


# -- judging ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind", [TwinKind.LOGISTIC_REGRESSION, TwinKind.COX_PH, TwinKind.RANDOM_FOREST_REGRESSOR]
)
def test_evidence_that_clears_every_limit_passes(
    limits: Any, credibility: Any, kind: TwinKind
) -> None:
    c = card(kind)
    judgement = judge(c, evidence_for(c), limits, credibility)
    assert judgement.passed, judgement.reasons
    assert judgement.findings and all(f.passed for f in judgement.findings)
    assert judgement.reasons == [] and judgement.advisories == []


def _with_metric(evidence: DossierEvidence, metric: str, value: dict[str, Any]) -> Any:
    validation = json.loads(json.dumps(evidence.validation))
    validation["overall"]["metrics"][metric] = value
    return replace(evidence, validation=validation)


def test_a_lower_bound_below_the_floor_fails_and_says_which(limits: Any, credibility: Any) -> None:
    c = card()
    evidence = _with_metric(evidence_for(c), "auc", estimate(0.75, 0.65, 0.85))
    judgement = judge(c, evidence, limits, credibility)
    assert not judgement.passed
    assert any("min_auc_lower" in r and "0.65" in r for r in judgement.reasons)


def test_an_undefined_interval_never_passes(limits: Any, credibility: Any) -> None:
    c = card()
    evidence = _with_metric(evidence_for(c), "auc", estimate(0.75, None, None))  # type: ignore[arg-type]
    judgement = judge(c, evidence, limits, credibility)
    assert any("cannot be computed" in r for r in judgement.reasons)


def test_a_failing_group_is_a_reason_at_level_4_and_an_advisory_at_level_2(
    limits: Any, credibility: Any
) -> None:
    for purposes, passes in ((("treatment",), False), (("research",), True)):
        c = card(purposes=purposes)
        evidence = evidence_for(c)
        validation = json.loads(json.dumps(evidence.validation))
        validation["subgroups"]["sex"]["1"]["metrics"]["auc"] = estimate(0.7, 0.55, 0.8)
        judgement = judge(c, replace(evidence, validation=validation), limits, credibility)
        assert judgement.passed is passes
        messages = judgement.advisories if passes else judgement.reasons
        assert any("sex=1" in m and "min_group_auc_lower" in m for m in messages)


def test_unfaithful_or_unstable_explanations_fail(limits: Any, credibility: Any) -> None:
    c = card()
    for section, key in (("additivity", "failures"), ("stability", "unstable")):
        evidence = evidence_for(c)
        explanation = json.loads(json.dumps(evidence.explanation))
        explanation[section][key] = 1
        judgement = judge(c, replace(evidence, explanation=explanation), limits, credibility)
        assert not judgement.passed
        assert any("explanation_checks" in r for r in judgement.reasons)


def test_mechanistic_twins_need_verification(limits: Any, credibility: Any) -> None:
    c = card(TwinKind.PK_VANCOMYCIN)
    assert judge(c, evidence_for(c), limits, credibility).passed
    missing = judge(c, replace(evidence_for(c), verification=None), limits, credibility)
    assert not missing.passed
    assert any("requires verification (missing" in r for r in missing.reasons)
    wrong = evidence_for(c)
    checks = [{"name": "code verification", "reference": "closed form", "max_relative_error": 0.01}]
    bad = judge(c, replace(wrong, verification={"checks": checks}), limits, credibility)
    assert any("max_verification_relative_error" in r for r in bad.reasons)
    assert (
        judge(card(), evidence_for(card()), limits, credibility).credibility.evidence[4].applicable
        is False
    )


def test_a_missing_or_stale_bias_audit_fails(limits: Any, credibility: Any) -> None:
    c = card()
    stale = {"id": "a", "passed": True, "current": False, "why": "older than 180 days"}
    for audit in (None, stale):
        judgement = judge(c, replace(evidence_for(c), bias_audit=audit), limits, credibility)
        assert not judgement.passed
        assert any("bias_audit" in r for r in judgement.reasons)


# -- change control ---------------------------------------------------------------------------
def test_card_changes_name_features_envelope_and_attributes() -> None:
    old = card()
    new = card(
        features=(
            FeatureSpec("age", "int", "years", 18, 120),
            FeatureSpec("crp", "float", "mg/L", 0, 500),
        ),
        envelope={"age": (16.0, 95.0), "crp": (0.0, 300.0)},
        sensitive_attributes=("sex", "ethnicity"),
        threshold=0.4,
    )
    diff = card_changes(old, new)
    assert diff["features"]["added"] == ["crp"] and diff["features"]["removed"] == ["lactate"]
    assert diff["features"]["changed"] == [{"feature": "age", "changes": {"maximum": [110, 120]}}]
    envelope = {e["feature"]: e["change"] for e in diff["envelope"]}
    assert envelope == {"age": "widened", "crp": "added", "lactate": "removed"}
    assert diff["sensitive_attributes"] == {"added": ["ethnicity"], "removed": []}
    assert diff["other"] == {"threshold": [0.5, 0.4]}
    narrowed = card_changes(old, card(envelope={"age": (20.0, 80.0), "lactate": (1.0, 20.0)}))
    assert [e["change"] for e in narrowed["envelope"]] == ["narrowed", "shifted"]


def _paired(low: float) -> dict[str, Any]:
    return {
        "auc": {
            "candidate": estimate(0.84, 0.8, 0.88),
            "baseline": estimate(0.86, 0.82, 0.9),
            "difference": estimate(-0.02, low, 0.01),
        }
    }


def test_change_control_judges_non_inferiority_on_the_paired_difference(
    limits: Any, credibility: Any
) -> None:
    c = card()
    validation = evidence_for(c).validation
    for low, passes in ((-0.04, True), (-0.08, False)):
        section = change_control(c, card(), "1", validation, _paired(low), None, None)
        assert section["headline"]["method"] == "paired"
        assert "auc difference -0.020" in section["summary"]
        judgement = judge(c, evidence_for(c, change_control=section), limits, credibility)
        assert judgement.passed is passes
        change = next(e for e in judgement.credibility.evidence if e.item == "change_control")
        assert change.applicable and change.present


def test_unpaired_change_control_puts_the_intervals_side_by_side() -> None:
    c = card()
    mine = evidence_for(c).validation
    theirs = json.loads(json.dumps(mine))
    theirs["overall"]["metrics"]["auc"] = estimate(0.8, 0.75, 0.85)
    section = change_control(c, card(), "1", mine, None, "no paired comparison: x", theirs)
    auc = section["metrics"]["deltas"]["auc"]
    assert auc["approved"]["low"] == 0.75 and auc["difference"]["estimate"] == pytest.approx(0.05)
    assert section["headline"]["method"] == "unpaired"
    assert section["metrics"]["note"] == "no paired comparison: x"


# -- storage and approval ---------------------------------------------------------------------
@pytest.fixture()
def world(sqlite_engine: Engine, tmp_path: Path) -> tuple[Lifecycle, AuditLog, Path]:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    audit = AuditLog(sqlite_engine)
    lifecycle = Lifecycle(sqlite_engine, audit, PolicyStore(policies, refresh_seconds=0.0))
    lifecycle.record_registration(
        DANA,
        model="sepsis",
        version="1",
        kind="logistic_regression",
        artifact_sha256="a" * 64,
        evaluation_digest="e" * 64,
        run_id="run1",
        card=card(),
        environment={"python": "3.11"},
    )
    lifecycle.record_bias_audit(VIC, "sepsis", "1", passed=True, metrics={})
    return lifecycle, audit, policies


def test_a_stored_dossier_verifies_and_is_audited(world: Any, sqlite_engine: Engine) -> None:
    lifecycle, audit, _ = world
    view = record_passing_dossier(lifecycle, VIC, "sepsis", "1")
    latest = lifecycle.dossiers.latest("sepsis", "1")
    assert latest is not None and latest.id == view.id and latest.verifies()
    body = latest.body
    assert body["passed"] and body["validator"] == "vic" and body["version"] == "1"
    assert body["credibility"]["risk_level"] == 4
    (record,) = audit.records(action="dossier")
    assert record["dossier_sha256"] == view.sha256 and record["dossier_id"] == view.id
    assert record["passed"] is True and record["risk_level"] == 4
    assert verify(sqlite_engine).ok
    assert lifecycle.dossiers.is_current("sepsis", "1", "e" * 64)[0]


def test_only_validators_record_dossiers(world: Any) -> None:
    lifecycle, _, _ = world
    from governance.errors import Forbidden

    with pytest.raises(Forbidden):
        record_passing_dossier(lifecycle, DANA, "sepsis", "1")


def test_approval_is_refused_without_a_passing_current_dossier(world: Any) -> None:
    lifecycle, _, policies = world
    with pytest.raises(DossierRequired, match=r"no validation dossier on file.*run the"):
        lifecycle.approve(VIC, "sepsis", "1", "looks fine")
    state = lifecycle.version("sepsis", "1")
    failing = _with_metric(evidence_for(state.card), "auc", estimate(0.6, 0.5, 0.7))
    lifecycle.dossiers.record(VIC, state, failing, lifecycle.dossiers.criteria())
    with pytest.raises(DossierRequired, match=r"did not pass.*min_auc_lower"):
        lifecycle.approve(VIC, "sepsis", "1", "looks fine")
    record_passing_dossier(lifecycle, VIC, "sepsis", "1")
    # criteria changed since the dossier: it is stale
    thresholds = policies / "thresholds.toml"
    thresholds.write_text(
        thresholds.read_text().replace("min_auc_lower = 0.70", "min_auc_lower = 0.72")
    )
    with pytest.raises(DossierRequired, match="judged by other criteria"):
        lifecycle.approve(VIC, "sepsis", "1", "looks fine")
    record_passing_dossier(lifecycle, VIC, "sepsis", "1")
    lifecycle.approve(VIC, "sepsis", "1", "dossier reviewed")
    assert lifecycle.version("sepsis", "1").status == "approved"


def test_a_tampered_dossier_no_longer_counts(world: Any, sqlite_engine: Engine) -> None:
    lifecycle, _, _ = world
    view = record_passing_dossier(lifecycle, VIC, "sepsis", "1")
    with sqlite_engine.begin() as conn:
        conn.execute(text("UPDATE validation_dossier SET body = replace(body, 'sepsis', 'sepsiz')"))
    latest = lifecycle.dossiers.latest("sepsis", "1")
    assert latest is not None and latest.id == view.id and not latest.verifies()
    ok, why = lifecycle.dossiers.is_current("sepsis", "1", "e" * 64)
    assert not ok and "does not match its digest" in why
    with pytest.raises(DossierRequired):
        lifecycle.approve(VIC, "sepsis", "1", "looks fine")
