"""A card's features as a clinician reads and enters them: a label in words, the unit, the
range the version was validated on, and the choices of a yes/no or coded feature.

Everything here is read from the card (its feature schema, envelope and ``extra["codes"]``)
and from the policy's ``[out_of_envelope]`` rule; nothing is decided here: the service
checks every value again when the form is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from models.card import FeatureSpec, TwinCard

#: "0 = male, 1 = female" (also after a lead-in: "MI order: 0 = first, 1 = recurrent").
_CODED = re.compile(r"(\d+)\s*=\s*([^,;]+)")
_LEAD_IN = re.compile(r"^([^:]+):\s*\d+\s*=")
_BARE_CODES = re.compile(r"\b0\s*/\s*1\b")


def num(value: float) -> str:
    """A number as read: four significant digits, whole numbers from 1000 up."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    unit: str
    #: What the schema accepts at all.
    minimum: float
    maximum: float
    #: What the version was validated on (None: the card names no range for it).
    low: float | None
    high: float | None
    #: (value, words) for a yes/no or coded feature; empty for a number.
    choices: tuple[tuple[str, str], ...]
    hint: str

    @property
    def range_words(self) -> str:
        if self.low is None or self.high is None:
            return ""
        if self.choices:
            inside = [w for v, w in self.choices if self.low <= float(v) <= self.high]
            return ", ".join(inside)
        return f"{num(self.low)}\u2013{num(self.high)} {self.unit}".strip()

    def value_words(self, value: float) -> str:
        """The patient's value as read: the choice's words, or the number with its unit."""
        for code, words in self.choices:
            if float(code) == value:
                return words
        return f"{num(value)} {self.unit}".strip()

    def inside(self, value: float) -> bool:
        return self.low is None or self.high is None or self.low <= value <= self.high


def _choices(card: TwinCard, spec: FeatureSpec) -> tuple[tuple[str, str], ...]:
    codes = card.extra.get("codes", {})
    if isinstance(codes, Mapping) and isinstance(codes.get(spec.name), list | tuple):
        return tuple((str(i), str(label)) for i, label in enumerate(codes[spec.name]))
    if spec.dtype != "binary":
        return ()
    coded = {int(k): v.strip() for k, v in _CODED.findall(spec.description)}
    if set(coded) == {0, 1}:
        return (("0", coded[0]), ("1", coded[1]))
    if _BARE_CODES.search(spec.description):  # "recoded 0/1": which is which is not said
        return (("0", "0"), ("1", "1"))
    return (("0", "no"), ("1", "yes"))


def _label(spec: FeatureSpec, choices: tuple[tuple[str, str], ...]) -> str:
    text = spec.description.strip()
    lead = _LEAD_IN.match(text)
    if lead:
        text = lead.group(1).strip()
    elif _CODED.search(text) and choices:
        text = spec.name  # "0 = male, 1 = female": the name says what it is
    text = text.split(";")[0].strip() or spec.name
    return text[0].upper() + text[1:]


def card_fields(card: TwinCard) -> list[Field]:
    """The card's features as form fields, in schema order."""
    out = []
    for spec in card.features:
        choices = _choices(card, spec)
        low, high = card.envelope.get(spec.name, (None, None))
        label = _label(spec, choices)
        coded = bool(choices) and "=" in spec.description  # the choices say it already
        same = label.lower() == spec.description.strip().lower()
        hint = "" if same or coded else spec.description
        out.append(
            Field(
                spec.name,
                label,
                "" if choices else spec.unit,
                spec.minimum,
                spec.maximum,
                low,
                high,
                choices,
                hint,
            )
        )
    return out


def envelope_rule(actions: Mapping[str, str]) -> str:
    """What a request outside the validated population gets, per purpose, in words
    (``actions``: purpose -> the policy's ``withhold`` or ``warn``)."""
    withheld = sorted(p for p, a in actions.items() if a == "withhold")
    warned = sorted(p for p, a in actions.items() if a != "withhold")
    parts = []
    if withheld:
        parts.append(f"for {' or '.join(withheld)} the result is withheld")
    if warned:
        parts.append(f"for {' or '.join(warned)} it is released with a warning")
    return "; ".join(parts)


def envelope_short(actions: Mapping[str, str]) -> str:
    """The warning beside a value outside the validated population: what sending it gets."""
    withheld = sorted(p for p, a in actions.items() if a == "withhold")
    if withheld:
        return f"a {' or '.join(withheld)} request is withheld"
    return "the result is released with a warning"
