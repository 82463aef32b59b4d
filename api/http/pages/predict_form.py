"""The prediction and what-if forms: the approved models a clinician may choose, the chosen
card's fields, and the values read back from a sent form (kept for "another prediction":
they travel in the signed-in session's own form posts, never in a URL or a cookie)."""

from __future__ import annotations

import math
import re
from typing import Any

from api.composition.service import TwinregService
from api.errors import BadRequest
from api.http.pages.fields import Field, card_fields, envelope_rule, envelope_short
from api.http.pages.render import form_text
from governance.errors import NotFound
from governance.identity.principal import Principal
from models.card import TwinCard
from models.mechanistic.outputs import output_spec

#: The form fields a prediction keeps for "another prediction" (besides ``f_*``).
KEPT = ("patient_id", "purpose", "output")
#: A feature (``f_age``) or a what-if scenario's name or feature (``s1_name``, ``s1_f_dose_mg``).
_FIELD = re.compile(r"(s\d_)?(f_\w+|name)")


def approved_card(service: TwinregService, principal: Principal, model: str) -> TwinCard:
    if not model:
        raise BadRequest("choose a model", field="model")
    detail = service.model_detail(principal, model)
    approved = detail["approved_version"]
    if approved is None:
        raise NotFound(f"{model} has no approved version; nothing can be predicted with it")
    card: TwinCard = service.lifecycle.version(model, approved).card
    return card


def number(data: dict[str, Any], field: Field, prefix: str = "f_") -> float:
    text = form_text(data, prefix + field.name, limit=64)
    if not text:
        what = "choose one" if field.choices else "enter a number"
        raise BadRequest(f"{field.label}: {what}", field=field.name)
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{field.label} must be a number", field=field.name) from None
    if not math.isfinite(value):
        raise BadRequest(f"{field.label} must be a finite number", field=field.name)
    return value


def kept_values(data: dict[str, Any]) -> dict[str, str]:
    """The sent values a new form starts from (only the fields a prediction has)."""
    return {
        k: form_text(data, k, limit=128)
        for k in data
        if k in KEPT or (_FIELD.fullmatch(k) is not None and len(k) <= 80)
    }


def output_choices(card: TwinCard) -> list[tuple[str, str]]:
    """A mechanistic twin's outputs with their words and units."""
    out = []
    for name in card.outputs:
        spec = output_spec(card.kind.value, name)
        out.append((name, f"{spec.label} ({spec.unit})" if spec else name))
    return out


def form_context(
    service: TwinregService, principal: Principal, model: str | None, mechanistic_only: bool
) -> dict[str, Any]:
    """The models to choose from and, once one is chosen, its card's fields."""
    listed = [m for m in service.list_models(principal) if m["approved_version"]]
    models = []
    for m in listed:
        listed_card = service.lifecycle.version(m["name"], m["approved_version"]).card
        if not mechanistic_only or listed_card.kind.is_mechanistic:
            models.append({**m, "card": listed_card})
    chosen = next((m for m in models if m["name"] == model), None)
    card = chosen["card"] if chosen else None
    policy = service.policies.current()
    actions = {p: policy.ethics.envelope_action(p) for p in card.intended_purposes} if card else {}
    return {
        "models": models,
        "model": model if chosen else None,
        "card": card,
        "fields": card_fields(card) if card else [],
        "outputs": output_choices(card) if card else [],
        "envelope_rule": envelope_rule(actions),
        "envelope_short": envelope_short(actions),
    }
