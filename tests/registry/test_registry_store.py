"""TwinRegistry against a real SQLite MLflow store with local artifacts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import pytest
import xgboost as xgb
from mlflow import MlflowClient

from models.card import TwinKind
from models.cox import CoxLinearModel
from models.demo_twins import DemoTwin
from models.environment import build_environment
from registry import (
    ArtifactInvalid,
    ArtifactTampered,
    InvalidIdentifier,
    ModelNotFound,
    RegistryError,
    RegistryUnavailable,
    TwinRegistry,
    write_twin_layout,
)


def _source_dir(registry: TwinRegistry, name: str, version: str) -> Path:
    source = MlflowClient(tracking_uri=registry.tracking_uri).get_model_version(name, version)
    return Path(url2pathname(urlparse(source.source).path))


def _predict(kind: TwinKind, model: object, x: np.ndarray) -> np.ndarray:
    if kind is TwinKind.XGBOOST_CLASSIFIER:
        assert isinstance(model, xgb.Booster)
        return model.inplace_predict(x, predict_type="margin")
    if kind is TwinKind.COX_PH:
        assert isinstance(model, CoxLinearModel)
        return model.linear_predictor(x)
    if kind is TwinKind.LOGISTIC_REGRESSION:
        return model.predict_proba(x)  # type: ignore[attr-defined]
    return model.predict(x)  # type: ignore[attr-defined]


def test_round_trip_every_demo_twin(twin_registry: TwinRegistry, registered_demo) -> None:
    for name, (twin, registered) in registered_demo.items():
        assert registered.name == name and registered.kind is twin.card.kind
        loaded = twin_registry.load(name, registered.version, registered.artifact_sha256)
        assert loaded.card == twin.card
        assert loaded.environment == registered.environment
        assert loaded.environment_warnings == ()
        assert loaded.artifact_sha256 == registered.artifact_sha256
        assert list(loaded.evaluation.columns) == list(twin.evaluation.columns)
        np.testing.assert_array_equal(loaded.evaluation.to_numpy(), twin.evaluation.to_numpy())
        x = twin.evaluation[list(twin.card.feature_names)].to_numpy()
        np.testing.assert_array_equal(
            _predict(twin.card.kind, loaded.model, x), _predict(twin.card.kind, twin.model, x)
        )
        # the way each patient's range is found comes back with the version, bit for bit
        assert twin.uncertainty is not None and loaded.uncertainty is not None
        for row in x[:5]:
            assert loaded.uncertainty.range_for(row, 50.0) == twin.uncertainty.range_for(row, 50.0)


def test_an_edited_range_is_refused(
    twin_registry: TwinRegistry, registered_demo, demo_twins: list[DemoTwin]
) -> None:
    """The uncertainty folder is part of the artifact: a refit changed after registration
    is a tampered version, and the version is not served."""
    twin = next(t for t in demo_twins if t.name == "whas500-mortality")
    registered = twin_registry.register(
        "range-probe", twin.card.kind, twin.model, twin.card, twin.evaluation, "dana",
        uncertainty=twin.uncertainty,
    )  # fmt: skip
    directory = _source_dir(twin_registry, "range-probe", registered.version)
    refit = directory / "uncertainty" / "refit-007.ubj"
    refit.write_bytes((directory / "uncertainty" / "refit-008.ubj").read_bytes())
    with pytest.raises(ArtifactTampered):
        twin_registry.load("range-probe", registered.version, registered.artifact_sha256)


def test_version_tags_and_describe(twin_registry: TwinRegistry, registered_demo) -> None:
    _, registered = registered_demo["gbsg2-recurrence"]
    client = MlflowClient(tracking_uri=twin_registry.tracking_uri)
    tags = client.get_model_version("gbsg2-recurrence", registered.version).tags
    assert tags["twinreg.kind"] == "cox_ph"
    assert tags["twinreg.registrant"] == "dana"
    assert tags["twinreg.artifact_sha256"] == registered.artifact_sha256
    assert tags["twinreg.evaluation_digest"] == registered.evaluation_digest
    described = twin_registry.describe("gbsg2-recurrence", registered.version)
    assert described == registered
    assert set(twin_registry.list_models()) >= set(registered_demo)
    assert twin_registry.list_versions("gbsg2-recurrence")[0] == "1"


def test_cache_hit_and_evict(twin_registry: TwinRegistry, registered_demo) -> None:
    _, registered = registered_demo["whas500-mortality"]
    args = ("whas500-mortality", registered.version, registered.artifact_sha256)
    first = twin_registry.load(*args)
    assert twin_registry.load(*args) is first
    with pytest.raises(ArtifactTampered):  # a cached version still needs the right digest
        twin_registry.load("whas500-mortality", registered.version, "0" * 64)
    assert twin_registry.evict("whas500-mortality", registered.version)
    assert not twin_registry.evict("whas500-mortality", registered.version)
    with ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(lambda _: twin_registry.load(*args), range(8)))
    assert all(item is loaded[0] for item in loaded) and loaded[0] is not first


def test_tampered_artifact_is_refused(twin_registry: TwinRegistry, tiny_cox) -> None:
    model, card, evaluation = tiny_cox
    registered = twin_registry.register(
        "tamper-probe", TwinKind.COX_PH, model, card, evaluation, "dana"
    )
    directory = _source_dir(twin_registry, "tamper-probe", registered.version)
    target = directory / "model.json"
    data = bytearray(target.read_bytes())
    position = data.index(b"0.4")
    data[position + 2] = ord("5")  # stage coefficient 0.4 -> 0.5
    target.write_bytes(bytes(data))
    with pytest.raises(ArtifactTampered) as caught:
        twin_registry.load("tamper-probe", registered.version, registered.artifact_sha256)
    assert caught.value.expected == registered.artifact_sha256
    assert caught.value.actual != registered.artifact_sha256


def test_added_file_is_refused(twin_registry: TwinRegistry, tiny_cox) -> None:
    model, card, evaluation = tiny_cox
    registered = twin_registry.register(
        "tamper-extra", TwinKind.COX_PH, model, card, evaluation, "dana"
    )
    loaded = twin_registry.load("tamper-extra", registered.version, registered.artifact_sha256)
    directory = _source_dir(twin_registry, "tamper-extra", registered.version)
    (directory / "model.pkl").write_bytes(b"\x80\x04evil")
    # The cached version is immutable and is not re-read...
    same = twin_registry.load("tamper-extra", registered.version, registered.artifact_sha256)
    assert same is loaded
    # ...but once evicted, the next load verifies again and refuses.
    twin_registry.evict("tamper-extra", registered.version)
    with pytest.raises(ArtifactTampered):
        twin_registry.load("tamper-extra", registered.version, registered.artifact_sha256)


def test_wrong_expected_digest(twin_registry: TwinRegistry, registered_demo) -> None:
    _, registered = registered_demo["diabetes-progression"]
    twin_registry.evict("diabetes-progression", registered.version)
    with pytest.raises(ArtifactTampered):
        twin_registry.load("diabetes-progression", registered.version, "a" * 64)


def test_alias_set_move_delete(twin_registry: TwinRegistry, tiny_cox) -> None:
    model, card, evaluation = tiny_cox
    first = twin_registry.register("alias-probe", TwinKind.COX_PH, model, card, evaluation, "d")
    second = twin_registry.register("alias-probe", TwinKind.COX_PH, model, card, evaluation, "d")
    assert (first.version, second.version) == ("1", "2")
    assert first.artifact_sha256 == second.artifact_sha256
    assert twin_registry.approved_alias("alias-probe") is None
    twin_registry.set_approved_alias("alias-probe", "1")
    assert twin_registry.approved_alias("alias-probe") == "1"
    twin_registry.set_approved_alias("alias-probe", "2")
    assert twin_registry.approved_alias("alias-probe") == "2"
    twin_registry.set_approved_alias("alias-probe", None)
    assert twin_registry.approved_alias("alias-probe") is None
    twin_registry.set_approved_alias("alias-probe", None)  # idempotent
    with pytest.raises(ModelNotFound):
        twin_registry.set_approved_alias("alias-probe", "99")
    with pytest.raises(ModelNotFound):
        twin_registry.approved_alias("no-such-model")
    with pytest.raises(ModelNotFound):
        twin_registry.load("alias-probe", "99", first.artifact_sha256)


def _log_twin_run(registry: TwinRegistry, directory: Path) -> str:
    client = MlflowClient(tracking_uri=registry.tracking_uri)
    experiment = client.get_experiment_by_name("cli-runs")
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment("cli-runs", artifact_location=registry.artifact_root)
    )
    run = client.create_run(experiment_id)
    client.log_artifacts(run.info.run_id, str(directory), "twin")
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def test_register_logged_run(twin_registry: TwinRegistry, tiny_cox, tmp_path: Path) -> None:
    model, card, evaluation = tiny_cox
    evaluation_digest = write_twin_layout(tmp_path / "twin", card.kind, model, card, evaluation)
    run_id = _log_twin_run(twin_registry, tmp_path / "twin")
    registered = twin_registry.register_logged_run("cli-probe", run_id, "erin")
    assert registered.run_id == run_id and registered.evaluation_digest == evaluation_digest
    loaded = twin_registry.load("cli-probe", registered.version, registered.artifact_sha256)
    assert isinstance(loaded.model, CoxLinearModel)
    assert loaded.environment_warnings == ()


def test_register_logged_run_refuses_bad_layout(
    twin_registry: TwinRegistry, tiny_cox, tmp_path: Path
) -> None:
    model, card, evaluation = tiny_cox
    write_twin_layout(tmp_path / "twin", card.kind, model, card, evaluation)
    (tmp_path / "twin" / "notes.txt").write_text("extra")
    with pytest.raises(ArtifactInvalid, match="unexpected"):
        twin_registry.register_logged_run(
            "cli-bad", _log_twin_run(twin_registry, tmp_path / "twin"), "erin"
        )
    (tmp_path / "twin" / "notes.txt").unlink()
    (tmp_path / "twin" / "card.json").write_text('{"kind": "cox_ph"}')
    with pytest.raises(ArtifactInvalid, match="card"):
        twin_registry.register_logged_run(
            "cli-bad", _log_twin_run(twin_registry, tmp_path / "twin"), "erin"
        )
    with pytest.raises(ModelNotFound):
        twin_registry.register_logged_run("cli-bad", "0" * 32, "erin")
    assert "cli-bad" not in twin_registry.list_models()


def test_environment_warnings(twin_registry: TwinRegistry, tiny_cox, tmp_path: Path) -> None:
    model, card, evaluation = tiny_cox
    recorded = dict(build_environment(), numpy="1.0.0", xgboost="0.9")
    write_twin_layout(tmp_path / "twin", card.kind, model, card, evaluation, recorded)
    run_id = _log_twin_run(twin_registry, tmp_path / "twin")
    registered = twin_registry.register_logged_run("env-probe", run_id, "erin")
    loaded = twin_registry.load("env-probe", registered.version, registered.artifact_sha256)
    assert len(loaded.environment_warnings) == 2
    assert any(w.startswith("numpy: built with 1.0.0") for w in loaded.environment_warnings)


def test_mismatched_kind_is_refused(twin_registry: TwinRegistry, tiny_cox) -> None:
    model, card, evaluation = tiny_cox
    with pytest.raises(ArtifactInvalid):
        twin_registry.register(
            "kind-probe", TwinKind.RANDOM_FOREST_REGRESSOR, model, card, evaluation, "d"
        )


class MlflowReached(BaseException):
    """Not an Exception, so no error translation can swallow it."""


class _Tripwire:
    def __getattr__(self, name: str) -> object:
        raise MlflowReached(f"MLflow was called: {name}")


BAD_NAMES = [
    "",
    "Model",
    "../etc",
    "a/b",
    "a" * 64,
    "-a",
    "runs:/abc",
    "a b",
    "ä",
    "a\n",
    "models:/x@approved",
    "x'; drop",
]
BAD_VERSIONS = ["", "0", "1.0", "../1", "latest", "1234567890", "-1", " 1", "1\n"]


@pytest.fixture()
def tripwired(tmp_path: Path) -> TwinRegistry:
    registry = TwinRegistry(f"sqlite:///{tmp_path}/never.db")
    registry._client_instance = _Tripwire()  # type: ignore[assignment]
    return registry


@pytest.mark.parametrize("name", BAD_NAMES)
def test_invalid_names_never_reach_mlflow(tripwired: TwinRegistry, name: str, tiny_cox) -> None:
    model, card, evaluation = tiny_cox
    calls = [
        lambda: tripwired.load(name, "1", "0" * 64),
        lambda: tripwired.set_approved_alias(name, "1"),
        lambda: tripwired.set_approved_alias(name, None),
        lambda: tripwired.approved_alias(name),
        lambda: tripwired.register(name, card.kind, model, card, evaluation, "d"),
        lambda: tripwired.register_logged_run(name, "0" * 32, "d"),
        lambda: tripwired.describe(name, "1"),
        lambda: tripwired.list_versions(name),
        lambda: tripwired.evict(name, "1"),
    ]
    for call in calls:
        with pytest.raises(InvalidIdentifier):
            call()


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_invalid_versions_never_reach_mlflow(tripwired: TwinRegistry, version: str) -> None:
    for call in (
        lambda: tripwired.load("ok-name", version, "0" * 64),
        lambda: tripwired.set_approved_alias("ok-name", version),
        lambda: tripwired.describe("ok-name", version),
    ):
        with pytest.raises(InvalidIdentifier):
            call()


@pytest.mark.parametrize("bad", ["", "0" * 63, "G" * 64, "../" + "0" * 61, "0" * 65])
def test_invalid_digest_never_reaches_mlflow(tripwired: TwinRegistry, bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        tripwired.load("ok-name", "1", bad)


@pytest.mark.parametrize("bad", ["", "0" * 31, "A" * 32, "../" + "0" * 29, "0" * 33, "x"])
def test_invalid_run_id_never_reaches_mlflow(tripwired: TwinRegistry, bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        tripwired.register_logged_run("ok-name", bad, "d")


@pytest.mark.parametrize("bad", ["", "a b", "../x", "x" * 129])
def test_invalid_registrant_never_reaches_mlflow(
    tripwired: TwinRegistry, bad: str, tiny_cox
) -> None:
    model, card, evaluation = tiny_cox
    with pytest.raises(InvalidIdentifier):
        tripwired.register("ok-name", card.kind, model, card, evaluation, bad)


def test_unreachable_store(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    registry = TwinRegistry(f"sqlite:///{tmp_path}/a-file/sub/mlflow.db")
    with pytest.raises(RegistryUnavailable):
        registry.ping()
    with pytest.raises(RegistryUnavailable):
        registry.load("whas500-mortality", "1", "0" * 64)
    assert issubclass(RegistryUnavailable, RegistryError)
