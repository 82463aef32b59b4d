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
pk_vancomycin, windkessel, ``model.json``   the mechanistic twin class of the kind
radiotherapy, glucose_t1d                   (:data:`MECHANISTIC_CLASSES`), constructed
                                            from its constructor parameters and fitted
iwpc_warfarin              ``model.json``   :class:`~models.warfarin.iwpc.IwpcWarfarinModel`
                                            (the published coefficients, as data)
=========================  ===============  =============================================

Nothing here unpickles: UBJSON and JSON are data, and skops refuses every type that is
neither on its own safe list nor on :data:`SKOPS_TRUSTED_TYPES`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from models.card import TwinKind
from models.cox import CoxLinearModel
from models.errors import ArtifactFormatError
from models.mechanistic import GlucoseT1DTwin, RadiotherapyTwin, VancomycinTwin, WindkesselTwin
from models.warfarin.iwpc import IwpcWarfarinModel

XGBOOST_FILE = "model.ubj"
SKOPS_FILE = "model.skops"
COX_FILE = "model.json"
MECHANISTIC_FILE = "model.json"
DOSE_FILE = "model.json"

#: The twin class of each mechanistic kind; its file holds the constructor parameters.
MECHANISTIC_CLASSES: Mapping[TwinKind, type[Any]] = MappingProxyType(
    {
        TwinKind.PK_VANCOMYCIN: VancomycinTwin,
        TwinKind.WINDKESSEL: WindkesselTwin,
        TwinKind.RADIOTHERAPY: RadiotherapyTwin,
        TwinKind.GLUCOSE_T1D: GlucoseT1DTwin,
    }
)

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
    if kind in MECHANISTIC_CLASSES:
        return MECHANISTIC_FILE
    if kind is TwinKind.IWPC_WARFARIN:
        return DOSE_FILE
    raise ArtifactFormatError(f"no safe format for kind {kind!r}")


def _constructor_defaults(cls: type[Any]) -> dict[str, Any]:
    """The constructor parameters of a mechanistic twin class and their defaults."""
    parameters = inspect.signature(cls.__init__).parameters
    return {name: p.default for name, p in parameters.items() if name != "self"}


def _checked_value(name: str, value: object, default: object) -> object:
    """``value`` if it has the JSON type of the parameter's default, else refuse it."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value  # type: ignore[arg-type]
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ArtifactFormatError(
            f"parameter {name!r} must be of type {type(default).__name__}, got {value!r}"
        )
    return value


def mechanistic_to_dict(kind: TwinKind, model: object) -> dict[str, Any]:
    """The constructor parameters of a mechanistic twin (what ``model.json`` holds)."""
    cls = MECHANISTIC_CLASSES[kind]
    if type(model) is not cls:
        raise ArtifactFormatError(
            f"expected {cls.__name__} for {kind.value}, got {type(model).__name__}"
        )
    data = {name: getattr(model, name) for name in _constructor_defaults(cls)}
    mechanistic_from_dict(kind, data)  # refuse to write what could not be read back
    return data


def mechanistic_from_dict(kind: TwinKind, data: object) -> Any:
    """Construct and fit the twin of ``kind``; refuses unknown, missing or mistyped keys."""
    cls = MECHANISTIC_CLASSES[kind]
    if not isinstance(data, dict):
        raise ArtifactFormatError(f"{kind.value} model file must hold a JSON object")
    defaults = _constructor_defaults(cls)
    unknown = sorted(set(data) - set(defaults))
    missing = sorted(set(defaults) - set(data))
    if unknown or missing:
        raise ArtifactFormatError(
            f"{kind.value} model file: unknown keys {unknown}, missing keys {missing}"
        )
    params = {name: _checked_value(name, data[name], defaults[name]) for name in defaults}
    try:
        return cls(**params).fit()
    except ValueError as exc:
        raise ArtifactFormatError(f"invalid {kind.value} parameters: {exc}") from exc


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
        elif kind in MECHANISTIC_CLASSES:
            text = json.dumps(mechanistic_to_dict(kind, model), indent=2, sort_keys=True)
            path.write_text(text, encoding="utf-8")
        elif kind is TwinKind.IWPC_WARFARIN:
            if type(model) is not IwpcWarfarinModel:
                raise ArtifactFormatError(
                    f"expected an IwpcWarfarinModel, got {type(model).__name__}"
                )
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
    if kind in MECHANISTIC_CLASSES:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArtifactFormatError(f"unreadable {kind.value} model: {exc!r}") from exc
        return mechanistic_from_dict(kind, data)
    if kind is TwinKind.IWPC_WARFARIN:
        return IwpcWarfarinModel.from_dict(_json(path, kind))
    return _load_skops(kind, path)


def _json(path: Path, kind: TwinKind) -> object:
    try:
        data: object = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactFormatError(f"unreadable {kind.value} model: {exc!r}") from exc
    return data


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
