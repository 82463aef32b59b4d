"""Safe (non-pickle) model files, one format per :class:`~models.card.TwinKind`.

=========================  ===============  =============================================
kind                       file             loaded back as
=========================  ===============  =============================================
xgboost_classifier/        ``model.ubj``    ``xgboost.Booster`` (predict a numpy row with
xgboost_regressor                           ``booster.inplace_predict(row,
                                            predict_type="margin")``)
logistic_regression,       ``model.skops``  the scikit-learn estimator, loaded with an
random_forest_*                             explicit allow-list of types
cox_ph                     ``model.json``   :class:`~models.cox.CoxLinearModel`
=========================  ===============  =============================================

Nothing here unpickles: UBJSON and JSON are data, and skops refuses every type that is
neither on its own safe list nor on :data:`SKOPS_TRUSTED_TYPES`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.card import TwinKind
from models.cox import CoxLinearModel
from models.errors import ArtifactFormatError

XGBOOST_FILE = "model.ubj"
SKOPS_FILE = "model.skops"
COX_FILE = "model.json"

#: Types beyond skops' built-in safe list that a file of each kind may contain.
#: Found with ``skops.io.get_untrusted_types`` on freshly trained estimators.
SKOPS_TRUSTED_TYPES: dict[TwinKind, frozenset[str]] = {
    TwinKind.LOGISTIC_REGRESSION: frozenset(),
    TwinKind.RANDOM_FOREST_CLASSIFIER: frozenset({"sklearn.tree._tree.Tree"}),
    TwinKind.RANDOM_FOREST_REGRESSOR: frozenset({"sklearn.tree._tree.Tree"}),
}

_XGBOOST_KINDS = frozenset({TwinKind.XGBOOST_CLASSIFIER, TwinKind.XGBOOST_REGRESSOR})


def model_filename(kind: TwinKind) -> str:
    """The file name a model of ``kind`` is stored under."""
    if kind in _XGBOOST_KINDS:
        return XGBOOST_FILE
    if kind in SKOPS_TRUSTED_TYPES:
        return SKOPS_FILE
    if kind is TwinKind.COX_PH:
        return COX_FILE
    raise ArtifactFormatError(f"no safe format for kind {kind!r}")


def _sklearn_class(kind: TwinKind) -> type[Any]:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression

    classes: dict[TwinKind, type[Any]] = {
        TwinKind.LOGISTIC_REGRESSION: LogisticRegression,
        TwinKind.RANDOM_FOREST_CLASSIFIER: RandomForestClassifier,
        TwinKind.RANDOM_FOREST_REGRESSOR: RandomForestRegressor,
    }
    return classes[kind]


def _as_booster(model: object) -> Any:
    import xgboost as xgb

    if isinstance(model, xgb.Booster):
        return model
    if isinstance(model, xgb.XGBModel):
        return model.get_booster()
    raise ArtifactFormatError(f"expected an xgboost Booster, got {type(model).__name__}")


def save_model(kind: TwinKind, model: object, directory: Path) -> list[Path]:
    """Write ``model`` into ``directory`` in the safe format of ``kind``.

    Returns the paths written. XGBoost models may be given as a ``Booster`` or as an
    ``XGBClassifier``/``XGBRegressor`` (its booster is stored).
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / model_filename(kind)
    try:
        if kind in _XGBOOST_KINDS:
            _as_booster(model).save_model(str(path))
        elif kind is TwinKind.COX_PH:
            if not isinstance(model, CoxLinearModel):
                raise ArtifactFormatError(f"expected a CoxLinearModel, got {type(model).__name__}")
            path.write_text(json.dumps(model.to_dict(), indent=2), encoding="utf-8")
        else:
            import skops.io as sio

            expected = _sklearn_class(kind)
            if type(model) is not expected:
                raise ArtifactFormatError(
                    f"expected {expected.__name__} for {kind.value}, got {type(model).__name__}"
                )
            sio.dump(model, path)
            untrusted = set(sio.get_untrusted_types(file=path))
            if not untrusted <= SKOPS_TRUSTED_TYPES[kind]:
                path.unlink()
                raise ArtifactFormatError(
                    f"model holds types outside the allow-list: {sorted(untrusted)}"
                )
    except ArtifactFormatError:
        raise
    except Exception as exc:
        raise ArtifactFormatError(f"cannot write {kind.value} model: {exc!r}") from exc
    return [path]


def load_model(kind: TwinKind, directory: Path) -> object:
    """Read back what :func:`save_model` wrote; never unpickles."""
    path = directory / model_filename(kind)
    if not path.is_file():
        raise ArtifactFormatError(f"missing model file {path.name}")
    if kind in _XGBOOST_KINDS:
        return _load_booster(path)
    if kind is TwinKind.COX_PH:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArtifactFormatError(f"unreadable Cox model: {exc!r}") from exc
        return CoxLinearModel.from_dict(data)
    return _load_skops(kind, path)


def _load_booster(path: Path) -> object:
    import xgboost as xgb

    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except xgb.core.XGBoostError as exc:
        raise ArtifactFormatError(f"unreadable XGBoost model: {exc}") from exc
    return booster


def _load_skops(kind: TwinKind, path: Path) -> object:
    import skops.io as sio

    allowed = SKOPS_TRUSTED_TYPES[kind]
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
    except Exception as exc:
        raise ArtifactFormatError(f"unreadable skops file: {exc!r}") from exc
    refused = untrusted - allowed
    if refused:
        raise ArtifactFormatError(f"skops file holds untrusted types: {sorted(refused)}")
    try:
        model: object = sio.load(path, trusted=sorted(untrusted))
    except Exception as exc:
        raise ArtifactFormatError(f"unreadable skops file: {exc!r}") from exc
    expected = _sklearn_class(kind)
    if type(model) is not expected:
        raise ArtifactFormatError(
            f"skops file holds {type(model).__name__}, expected {expected.__name__}"
        )
    return model
