"""The Consent mapping table (api.fhir.consents) on the policies' own term map."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.consent import Consent

from api.fhir.consents import map_consent
from api.fhir.errors import Unsupported
from governance.policy.store import PolicySet
from tests.api.fhir_bundles import consent

TERMS = PolicySet(Path(__file__).resolve().parents[3] / "policies").fhir_terms
GDIS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "GDIS"}
ALL_BUT_GENOMIC = ("demographics", "history", "imaging", "labs", "medication", "vitals")


def mapped(resource: dict[str, Any]) -> Any:
    return map_consent(Consent.model_validate(resource), TERMS, "Consent")


def base(**provision: Any) -> dict[str, Any]:
    resource: dict[str, Any] = consent(**provision)["resource"]
    return resource


def test_an_unrestricted_consent_covers_every_category_but_genomic() -> None:
    terms = mapped(base(labels=None))
    assert [(g.purpose, g.categories) for g in terms.grants] == [("treatment", ALL_BUT_GENOMIC)]


def test_genomic_only_from_the_genetic_information_label() -> None:
    resource = base(labels=("labs",))
    resource["provision"]["securityLabel"].append(GDIS)
    assert mapped(resource).grants[0].categories == ("genomic", "labs")


def test_each_purpose_is_a_consent_and_the_period_its_validity() -> None:
    terms = mapped(
        base(purposes=("TREAT", "HRESCH"), period={"start": "2026-01-01", "end": "2026-06-30"})
    )
    assert [g.purpose for g in terms.grants] == ["research", "treatment"]
    grant = terms.grants[0]
    assert grant.valid_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert grant.valid_until == datetime(2026, 7, 1, tzinfo=UTC)  # the end date's whole day


def test_a_deny_exception_takes_its_categories_from_its_purposes() -> None:
    exception = {
        "type": "deny",
        "purpose": [{"system": TERMS.purpose_system, "code": "HRESCH"}],
        "securityLabel": [{"system": "urn:twinreg:data-category", "code": "labs"}],
    }
    terms = mapped(
        base(purposes=("TREAT", "HRESCH"), labels=("labs", "vitals"), provision=[exception])
    )
    assert [(g.purpose, g.categories) for g in terms.grants] == [
        ("research", ("vitals",)),
        ("treatment", ("labs", "vitals")),
    ]


def test_an_exception_denying_everything_of_a_purpose_grants_it_nothing() -> None:
    exception = {"type": "deny", "purpose": [{"system": TERMS.purpose_system, "code": "HRESCH"}]}
    terms = mapped(base(purposes=("TREAT", "HRESCH"), provision=[exception]))
    assert [g.purpose for g in terms.grants] == ["treatment"]


@pytest.mark.parametrize(
    "provision,expression",
    [
        ({"provision": [{"type": "permit"}]}, "Consent.provision.provision[0].type"),
        (
            {"provision": [{"type": "deny", "period": {"start": "2026-01-01"}}]},
            "Consent.provision.provision[0].period",
        ),
        (
            {"provision": [{"type": "deny", "provision": [{"type": "permit"}]}]},
            "Consent.provision.provision[0].provision",
        ),
        (
            {"actor": [{"role": {"text": "x"}, "reference": {"display": "x"}}]},
            "Consent.provision.actor",
        ),
        ({"dataPeriod": {"start": "2026-01-01"}}, "Consent.provision.dataPeriod"),
        ({"type": "deny"}, "Consent.provision.type"),
    ],
)
def test_what_cannot_be_mapped_exactly_is_refused_naming_it(
    provision: dict[str, Any], expression: str
) -> None:
    with pytest.raises(Unsupported) as caught:
        mapped(base(**provision))
    assert caught.value.expression == expression


def test_an_unknown_purpose_or_label_is_refused_naming_it() -> None:
    with pytest.raises(Unsupported) as caught:
        mapped(base(purposes=("HPAYMT",)))
    assert caught.value.expression == "Consent.provision.purpose[0]"
    resource = base()
    resource["provision"]["securityLabel"].append({"system": "urn:x", "code": "labs"})
    with pytest.raises(Unsupported) as caught:
        mapped(resource)
    assert caught.value.expression == "Consent.provision.securityLabel[4]"


def test_status_maps_to_grant_withdrawal_or_nothing() -> None:
    resource = base()
    resource["status"] = "draft"
    with pytest.raises(Unsupported) as caught:
        mapped(resource)
    assert caught.value.expression == "Consent.status"
    resource["status"] = "inactive"
    resource["identifier"] = [{"system": TERMS.consent_system, "value": "c-1"}]
    assert (mapped(resource).grants, mapped(resource).withdraw) == ((), "c-1")
    resource["status"] = "rejected"
    del resource["identifier"]
    assert (mapped(resource).grants, mapped(resource).withdraw) == ((), None)
