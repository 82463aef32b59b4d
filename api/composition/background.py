"""The rows a version's explanations are taken against, and what the dossier says of them.

A version registered with a background (``background.csv`` in its artifact: training rows
for a statistical twin, reference patients for a mechanistic one) is explained against
it. A version registered before twinreg stored one (homes from earlier releases) falls
back to the first :data:`FALLBACK_ROWS` rows of its held-out evaluation set, as those
releases did, and says so in the ``source``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from explain import background_rows_used
from registry import LoadedTwin

#: Held-out rows used when a version was registered without a background.
FALLBACK_ROWS = 100


def explainer_background(
    twin: LoadedTwin, names: Sequence[str]
) -> tuple[np.ndarray, dict[str, Any]]:
    """The background rows (card feature order) and their description: ``rows`` the
    explainer uses, whether the background was ``registered``, ``registered_rows``,
    its ``sha256`` and a ``source`` in words."""
    columns = list(names)
    registered = twin.background is not None
    if twin.background is not None:
        rows = twin.background.loc[:, columns].to_numpy(dtype=np.float64)
        source = (
            f"registered with the version (background.csv, {rows.shape[0]} rows, "
            f"sha256 {twin.background_sha256})"
        )
    else:
        held_out = twin.evaluation.loc[:, columns].to_numpy(dtype=np.float64)
        rows = held_out[:FALLBACK_ROWS]
        source = (
            f"the first {rows.shape[0]} held-out evaluation rows: the version was registered "
            "without a background (before twinreg stored one)"
        )
    used = background_rows_used(twin.kind, rows.shape[0])
    if used == 0:
        source = (
            "not used: path-dependent TreeSHAP takes the base value from the trees' own "
            f"training data; {source}"
        )
    elif used < rows.shape[0]:
        source = f"the first {used} rows of: {source}"
    info = {
        "rows": used,
        "registered": registered,
        "registered_rows": rows.shape[0] if registered else 0,
        "sha256": twin.background_sha256,
        "source": source,
    }
    return np.ascontiguousarray(rows), info
