"""What a result drawn from real patients may disclose: a minimum cell size with
complementary suppression.

A *cell* is a count of patients (e.g. an arm's patients who reached the target, and those
who did not). A count below the minimum (``policies/research.toml``) is suppressed. A
*margin* is a set of cells whose total is published (an arm's size): if exactly one of its
cells were suppressed, subtracting the others from the total would give it back, so the
smallest other cell of that margin is suppressed too (complementary suppression), and
again, until no margin has a single suppressed cell. Zero counts are suppressed like
others (an empty cell says that every patient fell in the other one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def suppressed_cells(
    cells: Mapping[str, int], margins: Sequence[Sequence[str]], min_cell_size: int
) -> frozenset[str]:
    """The names of the cells to withhold: those below ``min_cell_size`` (primary), and
    the complementary cells that keep each margin from giving one back."""
    hidden = {name for name, count in cells.items() if count < min_cell_size}
    changed = True
    while changed:
        changed = False
        for margin in margins:
            inside = [name for name in margin if name in hidden]
            if len(inside) != 1:
                continue
            others = sorted((cells[n], n) for n in margin if n not in hidden)
            if not others:
                continue
            hidden.add(others[0][1])
            changed = True
    return frozenset(hidden)


def recoverable(
    cells: Mapping[str, int], margins: Sequence[Sequence[str]], hidden: frozenset[str]
) -> frozenset[str]:
    """The hidden cells that a margin's total gives back by subtraction (none, when the
    suppression is complete): for tests and for the composition's final check."""
    found: set[str] = set()
    for margin in margins:
        inside = [name for name in margin if name in hidden]
        if len(inside) == 1:
            found.add(inside[0])
    return frozenset(found)
