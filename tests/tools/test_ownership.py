"""No two installed distributions write one Python package (issue 13, finding 24).

The checker is tried on made-up installation folders (a METADATA and a RECORD per
distribution, as pip writes them), then on this environment and on twinreg's own
requirements."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.sites import make_distribution as _dist
from tools.distributions import closure, installed, project_requirements
from tools.ownership import conflicts

REPO = Path(__file__).resolve().parents[2]


def _found(*sites: Path) -> list[str]:
    return [str(c) for c in conflicts(installed([str(s) for s in sites]))]


def test_casbin_and_pycasbin_writing_one_package_is_a_conflict(tmp_path: Path) -> None:
    _dist(tmp_path, "casbin", "1.43.0", {"casbin/__init__.py": "", "casbin/core.py": "old"})
    _dist(tmp_path, "pycasbin", "2.8.0", {"casbin/__init__.py": "", "casbin/core.py": "new"})
    assert _found(tmp_path) == ["casbin/: written by casbin 1.43.0, pycasbin 2.8.0; 1 files differ"]


def test_identical_files_from_unrelated_distributions_are_still_a_conflict(
    tmp_path: Path,
) -> None:
    """Same bytes today; uninstalling either one still deletes the other's package."""
    _dist(tmp_path, "a", "1.0", {"pkg/__init__.py": "x"})
    _dist(tmp_path, "b", "1.0", {"pkg/__init__.py": "x"})
    assert _found(tmp_path) == ["pkg/: written by a 1.0, b 1.0"]


def test_one_distribution_writing_into_anothers_package_is_a_conflict(tmp_path: Path) -> None:
    _dist(tmp_path, "host", "1.0", {"host/__init__.py": "", "host/a.py": ""})
    _dist(tmp_path, "plugin", "1.0", {"host/plugin.py": ""})
    assert _found(tmp_path) == ["host/: written by host 1.0, plugin 1.0"]


@pytest.mark.parametrize("top", ["six.py", "_speedups.cpython-311-x86_64-linux-gnu.so", "x.pth"])
def test_a_top_level_file_written_twice_is_a_conflict(tmp_path: Path, top: str) -> None:
    _dist(tmp_path, "a", "1.0", {top: "a"})
    _dist(tmp_path, "b", "2.0", {top: "b"})
    assert _found(tmp_path) == [f"{top}: written by a 1.0, b 2.0; 1 files differ"]


def test_namespace_packages_are_shared_by_design(tmp_path: Path) -> None:
    _dist(tmp_path, "google-auth", "2.0", {"google/auth/__init__.py": ""})
    _dist(tmp_path, "protobuf", "5.0", {"google/protobuf/__init__.py": ""})
    _dist(tmp_path, "ns-deep", "1.0", {"google/cloud/storage/__init__.py": ""})
    _dist(tmp_path, "ns-deep2", "1.0", {"google/cloud/bigquery/__init__.py": ""})
    assert _found(tmp_path) == []


def test_a_package_inside_a_namespace_written_twice_is_a_conflict(tmp_path: Path) -> None:
    _dist(tmp_path, "one", "1.0", {"google/cloud/__init__.py": "a"})
    _dist(tmp_path, "two", "1.0", {"google/cloud/__init__.py": "b", "google/two/x.py": ""})
    assert _found(tmp_path) == ["google/cloud/: written by one 1.0, two 1.0; 1 files differ"]


def test_a_release_split_into_pinned_distributions_with_identical_files_is_accepted(
    tmp_path: Path,
) -> None:
    """MLflow's pattern: mlflow requires mlflow-skinny==V and mlflow-tracing==V."""
    core = {"mlflow/__init__.py": "init", "mlflow/tracing.py": "t"}
    _dist(tmp_path, "mlflow-tracing", "3.1.0", core)
    _dist(tmp_path, "mlflow-skinny", "3.1.0", {**core, "mlflow/cli.py": "c"})
    _dist(
        tmp_path,
        "mlflow",
        "3.1.0",
        {**core, "mlflow/cli.py": "c", "mlflow/server.py": "s"},
        requires=("mlflow-skinny==3.1.0", "mlflow-tracing==3.1.0"),
    )
    assert _found(tmp_path) == []


@pytest.mark.parametrize(
    ("requires", "tracing_init", "expected"),
    [
        # pinned, but one shared file differs: install order decides again
        (("core==1.0",), "other", "; 1 files differ"),
        # identical, but the version is a range, not a pin
        (("core>=1.0",), "init", ""),
        # the pin is for an extra nobody asked for
        (('core==1.0; extra == "full"',), "init", ""),
        # pinned to another version than the one installed
        (("core==0.9",), "init", ""),
    ],
)
def test_a_split_release_needs_an_exact_pin_and_identical_files(
    tmp_path: Path, requires: tuple[str, ...], tracing_init: str, expected: str
) -> None:
    _dist(tmp_path, "core", "1.0", {"pkg/__init__.py": tracing_init})
    _dist(tmp_path, "full", "1.0", {"pkg/__init__.py": "init"}, requires=requires)
    assert _found(tmp_path) == [f"pkg/: written by core 1.0, full 1.0{expected}"]


def test_scripts_metadata_and_bytecode_are_not_packages(tmp_path: Path) -> None:
    """pip's scripts (../../bin/pip), metadata folders and __pycache__ are not packages."""
    shared = {
        "../../../bin/pip": "#!",
        "x.data/scripts/run": "",
        "pkg_a/__pycache__/m.cpython-311.pyc": "",
    }
    site = tmp_path / "lib" / "python3.11" / "site-packages"  # scripts go to tmp_path/bin
    _dist(site, "pip", "25.0", {"pip/__init__.py": "", **shared})
    _dist(site, "pip-shadow", "1.0", {"pkg_b/__init__.py": "", **shared})
    assert (tmp_path / "bin" / "pip").exists()
    assert _found(site) == []


def test_a_distribution_found_twice_on_the_path_counts_once(tmp_path: Path) -> None:
    """pip in the virtual environment and again in the user site is one pip."""
    for site in ("venv", "user"):
        _dist(tmp_path / site, "pip", "25.0", {"pip/__init__.py": site})
    assert _found(tmp_path / "venv", tmp_path / "user") == []


def test_without_a_record_the_top_level_names_are_used(tmp_path: Path) -> None:
    _dist(tmp_path, "old", "0.1", {"casbin/__init__.py": ""}, record=False, top_level="casbin\n")
    _dist(tmp_path, "pycasbin", "2.8.0", {"casbin/__init__.py": ""})
    assert _found(tmp_path) == ["casbin/: written by old 0.1, pycasbin 2.8.0"]


def test_twinreg_requires_no_two_distributions_that_write_one_package() -> None:
    """The distributions ``pyproject.toml`` pulls in (with every extra), as
    installed here: casbin-sqlalchemy-adapter pulled in ``casbin`` beside ``pycasbin``."""
    available = installed()
    needed = closure(project_requirements(_extras()), available)
    assert needed.missing == (), f"not installed: {needed.missing}"
    assert [str(c) for c in conflicts(needed.distributions)] == []
    assert "pycasbin" in needed.distributions
    assert "casbin" not in needed.distributions, "the old casbin distribution is required"


def test_this_environment_has_no_two_distributions_writing_one_package() -> None:
    """What ``.ci/test`` runs after installing: ``python -m tools.ownership``."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.ownership"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no package written by two of them" in result.stdout


def _extras() -> list[str]:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return list(project.get("optional-dependencies", {}))
