"""What to fix in a body the JSON decoder refused (api/http/body_errors.py)."""

from __future__ import annotations

import pytest

from api.http.body_errors import explain


@pytest.mark.parametrize(
    "body,field",
    [
        (b'{"features": {"age": NaN}}', "features.age"),
        (b'{"features": {"age": -Infinity}}', "features.age"),
        (b'{"features": {"age": 1e400}}', "features.age"),
        (
            b'{"scenarios": [{"features": {}}, {"features": {"dose_mg": Infinity}}]}',
            "scenarios[1].features.dose_mg",
        ),
    ],
)
def test_a_non_finite_number_is_named_by_its_path(body: bytes, field: str) -> None:
    found = explain(body)
    assert found is not None and found.field == field
    assert found.detail.startswith(f"{field} must be a finite number")


@pytest.mark.parametrize(
    "body,detail",
    [
        (b'{"model": "x",\n "purpose": }', "Expecting value at line 2, column 13"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        ('{"model": "x"}'.encode("utf-16"), "not UTF-8 text"),
        (b'{"model": "\xff"}', "not UTF-8 text"),
        (b'{"model": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
)
def test_what_breaks_the_json_is_said(body: bytes, detail: str) -> None:
    found = explain(body)
    assert found is not None and found.field is None
    assert detail in found.detail


def test_a_body_the_standard_parser_accepts_too_is_left_to_the_decoder() -> None:
    assert explain(b'{"features": {"age": 61.0}}') is None
