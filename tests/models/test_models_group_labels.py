"""The groups of a card's sensitive attributes in words, from the card alone."""

from __future__ import annotations

from dataclasses import replace

from models.card import FeatureSpec, TwinCard, TwinKind
from models.demo_twins import DIABETES_SPECS, GBSG2_SPECS, WHAS500_SPECS
from models.group_labels import code_labels, group_labels
from models.warfarin.demo import SPECS as WARFARIN_SPECS
from models.warfarin.iwpc import CODES


def _card(specs: tuple[FeatureSpec, ...], sensitive: tuple[str, ...], **extra: object) -> TwinCard:
    return TwinCard(
        kind=TwinKind.LOGISTIC_REGRESSION,
        description="",
        outcome="death",
        intended_purposes=("treatment",),
        features=specs,
        envelope={},
        sensitive_attributes=sensitive,
        data_categories=("vitals",),
        threshold=0.5,
        extra=dict(extra),
    )


def test_a_description_that_spells_out_its_codes_names_the_groups() -> None:
    assert group_labels(_card(WHAS500_SPECS, ("gender",))) == {
        "gender": {"0": "male", "1": "female"}
    }
    assert code_labels("MI type: 0 = non Q-wave, 1 = Q-wave") == {"0": "non Q-wave", "1": "Q-wave"}


def test_declared_labels_come_first_then_code_lists() -> None:
    declared = _card(GBSG2_SPECS, ("menostat",), group_labels={"menostat": {"0": "pre-menopausal"}})
    assert group_labels(declared) == {"menostat": {"0": "pre-menopausal"}}
    coded = _card(WARFARIN_SPECS, ("race",), codes={"race": list(CODES["race"])})
    assert group_labels(coded)["race"]["2"] == CODES["race"][2]


def test_codes_nobody_names_have_no_label_and_malformed_entries_are_ignored() -> None:
    assert group_labels(_card(DIABETES_SPECS, ("sex",))) == {"sex": {}}
    odd = _card(DIABETES_SPECS, ("sex",), group_labels=["not", "a", "mapping"], codes="x")
    assert group_labels(odd) == {"sex": {}}
    not_a_feature = replace(_card(DIABETES_SPECS, ()), sensitive_attributes=("age_band",))
    assert group_labels(not_a_feature) == {"age_band": {}}


def test_the_demo_cards_name_every_group_they_audit(demo_twins, mechanistic_twins) -> None:  # type: ignore[no-untyped-def]
    for twin in [*demo_twins, *mechanistic_twins]:
        if twin.name == "diabetes-progression":
            continue  # the source data does not say which sex is which code
        labels = group_labels(twin.card)
        for attribute in twin.card.sensitive_attributes:
            codes = {f"{v:g}" for v in twin.evaluation[attribute].unique()}
            assert codes <= set(labels[attribute]), (twin.name, attribute, labels)
