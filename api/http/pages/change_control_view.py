"""The change-control section of a dossier as the version page shows it: one row per
metric with the approved and the candidate version side by side, the difference with its
interval and a verdict, and the card's changes as a list of what moved.

The verdict of the headline metric is the dossier's own finding (non-inferiority against
``thresholds.toml [dossier.change_control]``); the other metrics are not judged, and their
verdict says only whether the paired interval excludes no difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.http.pages.numbers import number, signed

#: +1: higher is better; -1: lower is better (metrics without a direction get none).
DIRECTION = {
    "auc": 1, "concordance": 1, "skill": 1, "sensitivity": 1, "specificity": 1,
    "brier": -1, "mae": -1, "rmse": -1, "mare": -1, "mae_sqrt": -1,
}  # fmt: skip
LABELS = {
    "auc": "AUC", "brier": "Brier score", "concordance": "C-index (Harrell)",
    "skill": "skill (1 - MAE / MAE of the median)", "mae": "MAE", "rmse": "RMSE",
    "mare": "MARE (mean absolute relative error)", "mae_sqrt": "MAE of square roots",
}  # fmt: skip


def metric_label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


def change_rows(
    change: Mapping[str, Any], findings: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per compared metric, the judged headline metric first."""
    deltas: Mapping[str, Any] = change.get("metrics", {}).get("deltas", {})
    headline = change.get("headline") or {}
    judged = next((f for f in findings if f.get("evidence") == "change_control"), None)
    order = sorted(deltas, key=lambda m: (m != headline.get("metric"), m))
    rows = []
    for name in order:
        d = deltas[name]
        verdict, ok = _verdict(name, d.get("difference"), headline, judged)
        rows.append(
            {
                "metric": metric_label(name),
                "better": {1: "higher is better", -1: "lower is better"}.get(
                    DIRECTION.get(name, 0), ""
                ),
                "approved": d.get("approved"),
                "candidate": d.get("candidate"),
                "difference": d.get("difference"),
                "verdict": verdict,
                "ok": ok,
                "judged": name == headline.get("metric") and judged is not None,
            }
        )
    return rows


def _verdict(
    name: str, difference: Any, headline: Mapping[str, Any], judged: Mapping[str, Any] | None
) -> tuple[str, bool | None]:
    if name == headline.get("metric") and judged is not None:
        margin = number(judged.get("limit"))
        bound = signed(judged.get("value"))
        if judged.get("passed"):
            return f"non-inferior: {headline.get('bound_name')} {bound} ≥ {margin}", True
        return f"inferior: {headline.get('bound_name')} {bound} < {margin}", False
    if not isinstance(difference, Mapping):
        return "not comparable", None
    low, high, way = difference.get("low"), difference.get("high"), DIRECTION.get(name, 0)
    if low is None or high is None:
        return "difference only: no paired interval (not judged)", None
    if low <= 0 <= high or way == 0:
        return "no credible difference (not judged)", None
    better = (low > 0) == (way > 0)
    return ("credibly better" if better else "credibly worse") + " (not judged)", better


def card_changes(card: Mapping[str, Any]) -> list[dict[str, str]]:
    """What changed on the card, one ``{"what", "change"}`` per line; [] when nothing did."""
    out: list[dict[str, str]] = []
    features = card.get("features", {})
    for key, verb in (("added", "added"), ("removed", "removed")):
        for name in features.get(key, []):
            out.append({"what": f"feature {name}", "change": verb})
    for changed in features.get("changed", []):
        moves = "; ".join(
            f"{attr} {_shown(pair[0])} → {_shown(pair[1])}"
            for attr, pair in changed.get("changes", {}).items()
        )
        out.append({"what": f"feature {changed.get('feature')}", "change": moves})
    for env in card.get("envelope", []):
        out.append(
            {
                "what": f"validated envelope of {env.get('feature')}",
                "change": f"{env.get('change')}: {_range(env.get('approved'))} → "
                f"{_range(env.get('candidate'))}",
            }
        )
    for key in ("sensitive_attributes", "intended_purposes", "data_categories"):
        diff = card.get(key, {})
        for verb in ("added", "removed"):
            if diff.get(verb):
                out.append(
                    {"what": key.replace("_", " "), "change": f"{verb}: " + ", ".join(diff[verb])}
                )
    for field, pair in card.get("other", {}).items():
        out.append(
            {"what": field.replace("_", " "), "change": f"{_shown(pair[0])} → {_shown(pair[1])}"}
        )
    return out


def _range(pair: Any) -> str:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return "none"
    return f"{number(pair[0])} to {number(pair[1])}"


def _shown(value: Any) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
