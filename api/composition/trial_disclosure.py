"""What a trial's result may say when its cohort holds real patients.

- No minimum or maximum of any output (each is one patient's value).
- A quantile is kept only when at least the minimum cell size of patients lies on each
  side of it (``min(q, 1 - q) · n >= k``): the 5 % quantile of 40 patients is two
  patients' values, and is dropped.
- Target attainment: per arm and target, the patients who reached it and those who did
  not are two cells of the arm's published size. A cell below the minimum is suppressed,
  and another cell of its margin too (:func:`governance.research.disclosure.
  suppressed_cells`), so that it cannot be recovered by subtraction; a suppressed cell
  withholds its count, proportion and interval, and every arm difference using it (which
  would give it back from the other arm's proportion).
- A median difference is kept only when both medians are.

A cohort drawn from a prior (virtual patients) is released whole.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from governance.research.disclosure import recoverable, suppressed_cells

RULE = (
    "real patients: cells below the minimum cell size suppressed with complementary "
    "suppression; no minimum or maximum; a quantile only with at least the minimum cell "
    "size of patients on each side"
)


def _cell(arm: int, target: int, hit: bool) -> str:
    return f"arms[{arm}].attainment[{target}].{'hits' if hit else 'misses'}"


def disclose(result: Mapping[str, Any], real_patients: bool, min_cell_size: int) -> dict[str, Any]:
    """The result as it may be released (a copy; ``disclosure`` says what was withheld)."""
    shown: dict[str, Any] = copy.deepcopy(dict(result))
    if not real_patients:
        shown["disclosure"] = {"real_patients": False, "suppressed": []}
        return shown
    k = min_cell_size
    cells: dict[str, int] = {}
    margins: list[list[str]] = []
    for a, arm in enumerate(shown["arms"]):
        n = int(arm["n"])
        for output in arm["outputs"]:
            output.pop("minimum", None)
            output.pop("maximum", None)
            output["quantiles"] = [
                [q, v] for q, v in output["quantiles"] if min(q, 1.0 - q) * n >= k
            ]
        for t, attained in enumerate(arm["attainment"]):
            hits = int(attained["hits"])
            cells[_cell(a, t, True)], cells[_cell(a, t, False)] = hits, n - hits
            margins.append([_cell(a, t, True), _cell(a, t, False)])
    hidden = suppressed_cells(cells, margins, k)
    if recoverable(cells, margins, hidden):  # fail closed: never release a recoverable cell
        raise RuntimeError("complementary suppression left a cell recoverable")
    names = [arm["name"] for arm in shown["arms"]]
    withheld_targets: set[tuple[str, int]] = set()
    for a, arm in enumerate(shown["arms"]):
        for t, attained in enumerate(arm["attainment"]):
            if _cell(a, t, True) in hidden or _cell(a, t, False) in hidden:
                attained.update(hits=None, proportion=None, low=None, high=None, suppressed=True)
                withheld_targets.add((arm["name"], t))
    medians = {
        (arm["name"], o["output"]): any(q == 0.5 for q, _ in o["quantiles"])
        for arm in shown["arms"]
        for o in arm["outputs"]
    }
    for comparison in shown.get("comparisons", []):
        pair = (comparison["arm"], comparison["reference"])
        for t, difference in enumerate(comparison["attainment"]):
            if any((name, t) in withheld_targets for name in pair):
                difference.update(difference=None, low=None, high=None, suppressed=True)
        comparison["median_differences"] = [
            [o, d]
            for o, d in comparison["median_differences"]
            if medians.get((pair[0], o)) and medians.get((pair[1], o))
        ]
    shown["disclosure"] = {
        "real_patients": True,
        "min_cell_size": k,
        "rule": RULE,
        "suppressed": sorted(hidden),
        "arms": names,
    }
    return shown
