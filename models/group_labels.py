"""Words for the groups of a card's sensitive attributes.

Bias audits and validation dossiers group records by the attribute's value as text
(``"0"``, ``"1"``: :mod:`governance.validation.bias_inputs`); a reader needs "female",
not ``1``. A card names its groups, in order of precedence:

1. ``extra["group_labels"]``: ``{attribute: {code: label}}`` (for an attribute that is
   no input of the twin, such as the mechanistic twins' ``age_band``);
2. ``extra["codes"]``: ``{attribute: [label of code 0, label of code 1, ...]}``;
3. the description of the attribute's feature, when it spells the codes out as
   ``0 = male, 1 = female``.

A code none of them names has no label (the caller shows the code).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from models.card import TwinCard

#: ``<code> = <label>``, the label running to the next comma, semicolon or code.
_PAIR = re.compile(r"(?<![\w.])(-?\d+)\s*=\s*([^,;=]+?)\s*(?=[,;]|$|-?\d+\s*=)")


def group_labels(card: TwinCard) -> dict[str, dict[str, str]]:
    """``{attribute: {code: label}}`` for every sensitive attribute of ``card`` (an empty
    mapping for an attribute whose codes the card does not name)."""
    declared = _mapping(card.extra.get("group_labels"))
    codes = _mapping(card.extra.get("codes"))
    out: dict[str, dict[str, str]] = {}
    for attribute in card.sensitive_attributes:
        named = _mapping(declared.get(attribute))
        listed = codes.get(attribute)
        if named:
            out[attribute] = {str(k): str(v) for k, v in named.items()}
        elif isinstance(listed, list | tuple):
            out[attribute] = {str(i): str(label) for i, label in enumerate(listed)}
        else:
            out[attribute] = _from_description(card, attribute)
    return out


def _from_description(card: TwinCard, attribute: str) -> dict[str, str]:
    spec = next((f for f in card.features if f.name == attribute), None)
    return {} if spec is None else code_labels(spec.description)


def code_labels(description: str) -> dict[str, str]:
    """The ``<code> = <label>`` pairs a feature's description spells out."""
    return {code: label.strip() for code, label in _PAIR.findall(description)}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
