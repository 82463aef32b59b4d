"""Real clinical data sets bundled with scikit-survival and scikit-learn (no downloads).

Each loader returns one ``float64`` DataFrame: numerically coded features followed by the
outcome columns (``time``/``event`` for survival data, ``progression`` for diabetes).

WHAS500 and GBSG2 ship inside scikit-survival, which is GPL-3.0: it is an optional extra
(``pip install -e '.[demo]'``) that only the demo and the tests use, never the server.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pandas as pd

from models.errors import DemoDataUnavailable

#: How to install what the demo data sets need.
DEMO_EXTRA = "pip install -e '.[demo]'"


def require_demo_data() -> ModuleType:
    """scikit-survival's data sets module; :class:`DemoDataUnavailable` saying what to
    install when it is missing."""
    try:
        return importlib.import_module("sksurv.datasets")
    except ImportError as exc:
        raise DemoDataUnavailable(
            "the demo data sets WHAS500 and GBSG2 ship with scikit-survival, an optional "
            f"extra: install it with {DEMO_EXTRA} ({exc})"
        ) from exc


#: WHAS500 columns usable as predictors at admission (``los`` is known only at discharge
#: and, like ``lenfol``, leaks follow-up; it is kept in the frame but not in this list).
WHAS500_FEATURES: tuple[str, ...] = (
    "age", "gender", "hr", "sysbp", "diasbp", "bmi", "cvd", "afb", "sho", "chf", "av3",
    "miord", "mitype",
)  # fmt: skip

GBSG2_FEATURES: tuple[str, ...] = (
    "age", "menostat", "horTh", "tsize", "tgrade", "pnodes", "progrec", "estrec",
)  # fmt: skip

DIABETES_FEATURES: tuple[str, ...] = (
    "age", "sex", "bmi", "bp", "tc", "ldl", "hdl", "tch", "ltg", "glu",
)  # fmt: skip


def load_whas500() -> pd.DataFrame:
    """Worcester Heart Attack Study, 500 patients.

    Columns: :data:`WHAS500_FEATURES` (binary columns coded 0/1, ``gender`` 0=male,
    1=female), ``los`` (length of stay, days), ``time`` (follow-up, days, ``lenfol``) and
    ``event`` (1 = died during follow-up, ``fstat``).
    """
    features, outcome = require_demo_data().load_whas500()
    frame = pd.DataFrame(
        {name: features[name].astype("float64") for name in (*WHAS500_FEATURES, "los")}
    )
    frame["time"] = outcome["lenfol"].astype("float64")
    frame["event"] = outcome["fstat"].astype("float64")
    return frame.reset_index(drop=True)


def load_gbsg2() -> pd.DataFrame:
    """German Breast Cancer Study Group 2, 686 patients, recurrence-free survival.

    Coding: ``menostat`` 0=pre-, 1=post-menopausal; ``horTh`` 0=no, 1=yes hormonal
    therapy; ``tgrade`` 1..3 (I..III). ``time`` in days, ``event`` 1 = recurrence or death
    (``cens``).
    """
    features, outcome = require_demo_data().load_gbsg2()
    frame = pd.DataFrame(
        {
            "age": features["age"].astype("float64"),
            "menostat": (features["menostat"].astype(str) == "Post").astype("float64"),
            "horTh": (features["horTh"].astype(str) == "yes").astype("float64"),
            "tsize": features["tsize"].astype("float64"),
            "tgrade": features["tgrade"].astype(str).map({"I": 1.0, "II": 2.0, "III": 3.0}),
            "pnodes": features["pnodes"].astype("float64"),
            "progrec": features["progrec"].astype("float64"),
            "estrec": features["estrec"].astype("float64"),
        }
    ).astype("float64")
    frame["time"] = outcome["time"].astype("float64")
    frame["event"] = outcome["cens"].astype("float64")
    return frame.reset_index(drop=True)


def load_diabetes() -> pd.DataFrame:
    """scikit-learn's diabetes data (442 patients), unscaled.

    ``sex`` is recoded from the raw 1/2 to 0/1 (the source does not say which is which);
    serum measurements: ``tc`` total cholesterol, ``ldl``, ``hdl`` (mg/dL), ``tch`` total
    cholesterol / HDL, ``ltg`` log of serum triglycerides, ``glu`` blood sugar (mg/dL).
    ``progression`` is a quantitative measure of disease progression one year later.
    """
    from sklearn.datasets import load_diabetes as _load

    bunch = _load(scaled=False, as_frame=True)
    raw = bunch.frame
    renamed = raw.rename(
        columns={"s1": "tc", "s2": "ldl", "s3": "hdl", "s4": "tch", "s5": "ltg", "s6": "glu"}
    )
    frame = pd.DataFrame({name: renamed[name].astype("float64") for name in DIABETES_FEATURES})
    frame["sex"] = frame["sex"] - 1.0
    frame["progression"] = renamed["target"].astype("float64")
    return frame.reset_index(drop=True)
