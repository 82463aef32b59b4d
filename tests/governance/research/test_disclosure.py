"""Minimum cell size with complementary suppression: a count below the minimum is
withheld, and another cell of its margin too, so that no withheld count comes back by
subtraction from a published total."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from governance.research.disclosure import recoverable, suppressed_cells


def test_a_small_cell_and_its_complement_are_suppressed() -> None:
    cells = {"a.hit": 3, "a.miss": 40, "b.hit": 25, "b.miss": 18}
    margins = [["a.hit", "a.miss"], ["b.hit", "b.miss"]]
    hidden = suppressed_cells(cells, margins, 10)
    assert hidden == {"a.hit", "a.miss"}
    assert recoverable(cells, margins, hidden) == frozenset()


def test_the_smallest_other_cell_is_the_complement() -> None:
    cells = {"x": 2, "y": 30, "z": 12}
    assert suppressed_cells(cells, [["x", "y", "z"]], 10) == {"x", "z"}


def test_nothing_small_nothing_suppressed() -> None:
    cells = {"a.hit": 10, "a.miss": 11}
    assert suppressed_cells(cells, [["a.hit", "a.miss"]], 10) == frozenset()


@given(
    st.lists(st.lists(st.integers(0, 40), min_size=2, max_size=4), min_size=1, max_size=4),
    st.integers(2, 15),
)
def test_no_suppressed_cell_is_recoverable_from_a_margin(rows: list[list[int]], least: int) -> None:
    cells = {f"{i}.{j}": n for i, row in enumerate(rows) for j, n in enumerate(row)}
    margins = [[f"{i}.{j}" for j in range(len(row))] for i, row in enumerate(rows)]
    hidden = suppressed_cells(cells, margins, least)
    assert {n for n, c in cells.items() if c < least} <= hidden
    assert recoverable(cells, margins, hidden) == frozenset()
