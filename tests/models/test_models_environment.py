"""The recorded build environment and its comparison."""

from __future__ import annotations

import re

from models.environment import (
    SOURCE_DIGEST_KEY,
    build_environment,
    environment_differences,
)


def test_build_environment_keys() -> None:
    env = build_environment()
    for key in ("python", "numpy", "scikit-learn", "xgboost", "shap", "skops"):
        assert env[key] and env[key] != "not installed", key
    # the server runs without the demo extra: its absence must not mark every version
    assert "scikit-survival" not in env
    assert re.fullmatch(r"[0-9a-f]{64}", env[SOURCE_DIGEST_KEY])
    assert build_environment() == env


def test_differences_name_what_changed() -> None:
    now = build_environment()
    then = dict(now, numpy="1.0.0", **{SOURCE_DIGEST_KEY: "0" * 64})
    del then["shap"]
    notes = environment_differences(then, now)
    assert len(notes) == 3
    assert any(n.startswith("numpy: built with 1.0.0") for n in notes)
    assert any("models package source" in n for n in notes)
    assert any(n.startswith("shap: built with unknown") for n in notes)
    assert environment_differences(now, now) == []
