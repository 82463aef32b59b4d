"""Change control: what a candidate version changes against the approved version.

An approver sees the difference in the card (features added, removed or re-specified;
population envelope widened, narrowed or shifted; sensitive attributes, purposes and data
categories added or removed; kind, outcome, threshold, horizon) and in performance: the
paired bootstrap difference of the headline metrics when both versions were scored on the
candidate's evaluation set, else the two versions' own intervals side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.card import TwinCard

HEADLINE = {"classifier": "auc", "survival": "concordance", "regression": "skill"}


def change_control(
    candidate: TwinCard,
    approved: TwinCard,
    approved_version: str,
    candidate_validation: Mapping[str, Any],
    paired: Mapping[str, Mapping[str, Any]] | None,
    paired_note: str | None,
    approved_validation: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The change-control section of a candidate's dossier.

    ``paired`` is ``models.validation.compare`` on the candidate's evaluation set (or
    ``None``, ``paired_note`` saying why); ``approved_validation`` is the validation
    section of the approved version's latest dossier, if it has one.
    """
    family = str(candidate_validation["family"])
    card = card_changes(approved, candidate)
    if paired is not None:
        method = "paired bootstrap on the candidate's evaluation set"
        deltas = {
            m: {
                "candidate": d["candidate"],
                "approved": d["baseline"],
                "difference": d["difference"],
            }
            for m, d in paired.items()
        }
    else:
        method = "separate evaluation sets: each version's own interval, side by side"
        deltas = _side_by_side(candidate_validation, approved_validation)
    headline = _headline(family, deltas, paired is not None)
    return {
        "approved_version": approved_version,
        "card": card,
        "metrics": {"method": method, "note": paired_note, "deltas": deltas},
        "headline": headline,
        "summary": _summary(card, headline, approved_version),
    }


def card_changes(old: TwinCard, new: TwinCard) -> dict[str, Any]:
    """Differences between two cards (``old`` the approved version's)."""
    before = {f.name: f for f in old.features}
    after = {f.name: f for f in new.features}
    changed = []
    for name in sorted(set(before) & set(after)):
        diff = {
            attr: [getattr(before[name], attr), getattr(after[name], attr)]
            for attr in ("dtype", "unit", "minimum", "maximum")
            if getattr(before[name], attr) != getattr(after[name], attr)
        }
        if diff:
            changed.append({"feature": name, "changes": diff})
    fields = {
        "kind": (old.kind.value, new.kind.value),
        "outcome": (old.outcome, new.outcome),
        "threshold": (old.threshold, new.threshold),
        "horizon": (old.horizon, new.horizon),
        "horizon_unit": (old.horizon_unit, new.horizon_unit),
        "output": (old.default_output, new.default_output),
    }
    return {
        "features": {
            "added": sorted(set(after) - set(before)),
            "removed": sorted(set(before) - set(after)),
            "changed": changed,
        },
        "envelope": _envelope_changes(old.envelope, new.envelope),
        "sensitive_attributes": _set_diff(old.sensitive_attributes, new.sensitive_attributes),
        "intended_purposes": _set_diff(old.intended_purposes, new.intended_purposes),
        "data_categories": _set_diff(old.data_categories, new.data_categories),
        "other": {k: list(v) for k, v in fields.items() if v[0] != v[1]},
    }


def _envelope_changes(
    old: Mapping[str, tuple[float, float]], new: Mapping[str, tuple[float, float]]
) -> list[dict[str, Any]]:
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if a is None or b is None:
            change = "added" if a is None else "removed"
        elif b[0] <= a[0] and b[1] >= a[1]:
            change = "widened"
        elif b[0] >= a[0] and b[1] <= a[1]:
            change = "narrowed"
        else:
            change = "shifted"
        out.append(
            {
                "feature": name,
                "approved": None if a is None else list(a),
                "candidate": None if b is None else list(b),
                "change": change,
            }
        )
    return out


def _set_diff(old: tuple[str, ...], new: tuple[str, ...]) -> dict[str, list[str]]:
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new))}


def _side_by_side(
    candidate: Mapping[str, Any], approved: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    if approved is None or approved.get("family") != candidate.get("family"):
        return {}
    mine = candidate["overall"]["metrics"]
    theirs = approved["overall"]["metrics"]
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(mine) & set(theirs)):
        a, b = mine[name]["estimate"], theirs[name]["estimate"]
        out[name] = {
            "candidate": mine[name],
            "approved": theirs[name],
            "difference": None if a is None or b is None else {"estimate": a - b},
        }
    return out


def _headline(family: str, deltas: Mapping[str, Any], paired: bool) -> dict[str, Any] | None:
    metric = HEADLINE.get(family)
    entry = deltas.get(metric or "")
    difference = None if entry is None else entry.get("difference")
    if metric is None or not isinstance(difference, Mapping):
        return None
    bound = difference.get("low") if paired else difference.get("estimate")
    return {
        "metric": metric,
        "method": "paired" if paired else "unpaired",
        "difference": difference,
        "bound": bound,
        "bound_name": (
            "lower bound of the paired difference"
            if paired
            else "point difference (separate evaluation sets, no paired interval)"
        ),
    }


def _summary(card: Mapping[str, Any], headline: Mapping[str, Any] | None, version: str) -> str:
    feats = card["features"]
    parts = [
        f"against approved version {version}: "
        f"{len(feats['added'])} feature(s) added, {len(feats['removed'])} removed, "
        f"{len(feats['changed'])} re-specified",
        f"envelope changed for {len(card['envelope'])} feature(s)",
    ]
    sens = card["sensitive_attributes"]
    if sens["added"] or sens["removed"]:
        parts.append(f"sensitive attributes +{sens['added']} -{sens['removed']}")
    if headline is not None:
        d = headline["difference"]
        estimate = d.get("estimate")
        shown = "undefined" if estimate is None else f"{estimate:+.3f}"
        text = f"{headline['metric']} difference {shown}"
        if d.get("low") is not None and d.get("high") is not None:
            text += f" [{d['low']:+.3f}, {d['high']:+.3f}]"
        parts.append(text)
    return "; ".join(parts)
