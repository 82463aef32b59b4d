"""A released prediction as a decision card: the outcome and horizon in words as the card
states them, the value in the outcome's own scale (a probability, a survival, a value
with its unit against its target), the uncertainty where the model gives one, whether the
patient lies inside the validated population (the gate's own envelope check), and each
contribution next to the patient's value.

Contributions of a log-odds model are shown as steps of the probability, taken in the
order shown (largest first): each step is the change of the probability when that
feature's log-odds contribution is added to those above it, so the steps add up exactly
to (probability - reference probability). A Cox twin's contributions are shown the same
way on the probability of the event by its horizon (``1 - S0 ** exp(lp)``). The
attributions themselves (in the explanation's own space) stay available beside them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.http.pages.fields import Field
from governance.release.decision import ReleaseDecision
from models.card import TwinCard, TwinKind
from models.mechanistic.outputs import output_spec

#: z of a two-sided 90 % interval.
Z90 = 1.6448536269514722


@dataclass(frozen=True)
class Contribution:
    name: str
    label: str
    value_words: str
    range_words: str
    inside: bool
    #: In the outcome's scale: probability (0-1) or the output's unit.
    effect: float
    effect_words: str
    #: The attribution in the explanation's own space.
    raw: float


@dataclass(frozen=True)
class DecisionCard:
    headline: str
    value_words: str
    verdict: str
    tone: str
    facts: tuple[tuple[str, str], ...]
    uncertainty: str
    #: The range beside the value ("90% range 15.2%\u201331.0%"); empty without one.
    range_short: str
    inside: bool
    envelope_words: str
    base_words: str
    scale_words: str
    #: The effects chart's axis.
    effect_axis: str
    contributions: tuple[Contribution, ...]


def signed(effect: float, scale: float) -> str:
    """``effect`` to four significant digits of ``scale`` (a value of 1354 shows its
    effects to the unit: a rounding residue of 1e-13 reads +0)."""
    size = max(abs(scale), 1e-12)
    decimals = max(0, 3 - math.floor(math.log10(size)))
    text = f"{effect:+.{decimals}f}"
    return "+" + text[1:] if float(text) == 0 else text


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%" if 0.001 <= p <= 0.999 else f"{100 * p:.2g}%"


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _steps(base: float, raws: Sequence[float], to_scale: Any) -> list[float]:
    """Each contribution as the change it makes to ``to_scale(base + those above it)``."""
    out, total, before = [], base, to_scale(base)
    for raw in raws:
        total += raw
        after = to_scale(total)
        out.append(after - before)
        before = after
    return out


def envelope_of(decision: ReleaseDecision) -> tuple[bool, str]:
    """Whether the gate found the patient inside the validated population, in its words."""
    for check in decision.checks:
        if check.check == "envelope":
            return check.passed and not check.warning, check.detail
    return False, "the envelope was not checked"


def horizon_words(horizon: float, unit: str) -> str:
    words = f"{horizon:g} {unit}"
    if unit == "days" and horizon >= 365:
        words += f" ({horizon / 365.25:.1f} years)"
    return words


def build_card(
    card: TwinCard,
    decision: ReleaseDecision,
    features: Mapping[str, float],
    fields: Sequence[Field],
) -> DecisionCard:
    assert decision.computation is not None
    prediction = decision.computation.prediction
    explanation = decision.computation.explanation
    base = float(explanation["base_value"])
    raws: dict[str, float] = dict(explanation["contributions"])
    order = sorted(raws, key=lambda n: -abs(raws[n]))
    shape = _shape(card, prediction, explanation)
    effects = (
        _steps(base, [raws[n] for n in order], shape.to_scale)
        if shape.to_scale is not None
        else [raws[n] for n in order]
    )
    by_name = {f.name: f for f in fields}
    rows = tuple(
        Contribution(
            name,
            by_name[name].label,
            by_name[name].value_words(features[name]),
            by_name[name].range_words,
            by_name[name].inside(features[name]),
            effect,
            shape.effect_words(effect),
            raws[name],
        )
        for name, effect in zip(order, effects, strict=True)
    )
    inside, envelope_words = envelope_of(decision)
    return DecisionCard(
        shape.headline,
        shape.value_words,
        shape.verdict,
        shape.tone,
        shape.facts,
        shape.uncertainty,
        _short(shape.uncertainty),
        inside,
        envelope_words,
        shape.base_words(base),
        shape.scale_words,
        shape.effect_axis,
        rows,
    )


@dataclass(frozen=True)
class _Shape:
    headline: str
    value_words: str
    verdict: str
    tone: str
    facts: tuple[tuple[str, str], ...]
    uncertainty: str
    scale_words: str
    unit: str
    #: Explanation space -> the outcome's scale (None: they are the same).
    to_scale: Any
    percent: bool
    #: The size of the value (effects are shown to its precision).
    scale: float = 1.0

    @property
    def effect_axis(self) -> str:
        if self.percent:
            return "change of the probability (percentage points)"
        return f"contribution ({self.unit})" if self.unit else "contribution"

    def effect_words(self, effect: float) -> str:
        if self.percent:
            return f"{100 * effect:+.1f} points".replace("-0.0 ", "+0.0 ")
        return f"{signed(effect, self.scale)} {self.unit}".strip()

    def base_words(self, base: float) -> str:
        value = self.to_scale(base) if self.to_scale is not None else base
        shown = _pct(value) if self.percent else f"{value:.4g} {self.unit}".strip()
        return f"the reference patient (the model's base value over its background rows): {shown}"


_NO_RANGE = (
    "none given: this version was registered without a way to find one (how well it does "
    "across patients is in its validation dossier)"
)
_POPULATION_RUN = (
    "none given: the twin is run once at the values entered (a patient twin, calibrated "
    "to the patient's own observations, gives a forecast band)"
)
_MEANINGS = {
    "estimate": "how far the model's estimate for this patient could move had it been "
    "fitted on another sample of the same population",
    "outcome": "where the outcomes of patients like this one fell",
}


def _short(uncertainty: str) -> str:
    """The level and ends of a range's words (every range is worded "90% range a\u2013b:
    what it is (how)"); empty for "none given"."""
    return uncertainty.split(":", 1)[0] if uncertainty[:1].isdigit() else ""


def uncertainty_words(
    prediction: Mapping[str, Any], show: Any, *, event_of_survival: bool = False
) -> str | None:
    """The prediction's range (``prediction["range"]``) in words, its ends written with
    ``show``; a range of survival shown as one of the event (``1 - S``) when asked."""
    found = prediction.get("range")
    if not isinstance(found, Mapping):
        return None
    low, high = float(found["low"]), float(found["high"])
    if event_of_survival:
        low, high = 1 - high, 1 - low
    level = f"{100 * float(found['level']):.0f}%"
    meaning = _MEANINGS.get(str(found["meaning"]), str(found["meaning"]))
    return f"{level} range {show(low)}\u2013{show(high)}: {meaning} ({found['method']})"


def _shape(card: TwinCard, prediction: Mapping[str, Any], explanation: Mapping[str, Any]) -> _Shape:
    if card.kind is TwinKind.COX_PH:
        return _survival_shape(card, prediction, explanation)
    if prediction["kind"] == "probability":
        return _probability_shape(card, prediction, explanation)
    return _value_shape(card, prediction)


def _probability_shape(
    card: TwinCard, prediction: Mapping[str, Any], explanation: Mapping[str, Any]
) -> _Shape:
    p = float(prediction["value"])
    threshold = prediction.get("threshold")
    verdict, tone = "", ""
    if threshold is not None:
        above = bool(prediction.get("above_threshold"))
        verdict = (
            f"{'at or above' if above else 'below'} the operating threshold of "
            f"{_pct(float(threshold))}" + (": flagged" if above else "")
        )
        tone = "bad" if above else "ok"
    log_odds = explanation["output_space"] == "log_odds"
    return _Shape(
        f"Probability of {card.outcome}",
        _pct(p),
        verdict,
        tone,
        (),
        uncertainty_words(prediction, _pct) or _NO_RANGE,
        "change of the probability, in percentage points"
        + (
            ", each added to those above it (the log-odds add exactly: details below)"
            if log_odds
            else ""
        ),
        "",
        _sigmoid if log_odds else None,
        True,
    )


def _survival_shape(
    card: TwinCard, prediction: Mapping[str, Any], explanation: Mapping[str, Any]
) -> _Shape:
    survival = float(prediction["survival_probability"])
    lp = float(explanation["output_value"])
    base = float(explanation["base_value"])
    log_s0 = math.log(survival) * math.exp(-lp) if survival > 0 else -math.inf
    when = horizon_words(float(prediction["horizon"]), str(prediction["horizon_unit"]))

    def event_by_horizon(x: float) -> float:
        return 1 - math.exp(log_s0 * math.exp(x))

    return _Shape(
        f"Probability of {card.outcome}, by {when}",
        _pct(1 - survival),
        "",
        "",
        (
            (f"Event-free survival at {when}", _pct(survival)),
            (
                "Relative risk score (log partial hazard)",
                f"{lp:+.3f}: hazard {math.exp(lp - base):.2f} times the reference patient's",
            ),
        ),
        uncertainty_words(prediction, _pct, event_of_survival=True) or _NO_RANGE,
        f"change of the probability of the event by {when}, in percentage points, each "
        "added to those above it (the log partial hazards add exactly: details below)",
        "",
        event_by_horizon,
        True,
    )


def _value_shape(card: TwinCard, prediction: Mapping[str, Any]) -> _Shape:
    value = float(prediction["value"])
    headline = card.outcome[0].upper() + card.outcome[1:]
    unit = str(card.extra.get("output_unit", ""))
    verdict, tone = "", ""
    output = prediction.get("output")
    spec = output_spec(card.kind.value, str(output)) if output else None
    if spec is not None:
        headline, unit = spec.label[0].upper() + spec.label[1:], spec.unit
        if spec.range is not None:
            where = spec.range.verdict(value)
            verdict = f"{where} the {spec.range.words(unit)} {spec.range.kind} range"
            tone = "ok" if where == "within" else ("bad" if spec.range.kind == "target" else "warn")
    return _Shape(
        headline,
        f"{value:.4g} {unit}".strip(),
        verdict,
        tone,
        (),
        uncertainty_words(prediction, lambda v: f"{v:.4g} {unit}".strip())
        or _value_uncertainty(card, value, unit),
        f"change of the {('value in ' + unit) if unit else 'value'}, each feature's own share "
        "(they add up exactly to the value minus the reference patient's)",
        unit,
        None,
        False,
        abs(value),
    )


def _value_uncertainty(card: TwinCard, value: float, unit: str) -> str:
    """A dosing algorithm fitted on the square root of its output states its residual SD
    there (``extra["residual_sd_sqrt_dose"]``): the 90 % range of the dose patients like
    this one turn out to need."""
    sd = card.extra.get("residual_sd_sqrt_dose")
    if card.error_scale != "sqrt" or not isinstance(sd, int | float) or value < 0:
        return _POPULATION_RUN if card.kind.is_mechanistic else _NO_RANGE
    root = math.sqrt(value)
    low, high = max(0.0, root - Z90 * sd) ** 2, (root + Z90 * sd) ** 2
    return (
        f"90% range {low:.3g}\u2013{high:.3g} {unit}: the stable doses of patients like this "
        f"one, from the algorithm's residual SD ({sd:g} on the square-root scale)"
    ).replace("  ", " ")
