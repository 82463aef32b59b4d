"""The served app imports no GPL module (issue 13, finding 23).

twinreg is Apache-2.0; scikit-survival (GPL-3.0) was imported by the serving process for
Harrell's C, Kaplan-Meier and the Cox fit. Each case imports what ``twinreg serve`` runs
in a fresh interpreter (a temporary home, no warm-up), maps every loaded module to the
distribution that installed its file (and every top-level name to its distributions), and
reads each distribution's declared licence.

LGPL is a separate question, decided here: psycopg (the PostgreSQL driver, LGPL-3.0) is
used unmodified, as a separately installed library that anyone can replace, which the
LGPL allows an Apache-2.0 program to do. It stays, and is listed in
THIRD_PARTY_LICENSES.md; any other LGPL distribution fails this test until someone
decides about it and adds it here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tools.distributions import file_owners, installed
from tools.licences import copyleft_of, licence_of

REPO = Path(__file__).resolve().parents[3]
#: LGPL distributions the served app may load (see the module's description).
LGPL_DECIDED = {"psycopg", "psycopg-binary"}
_LOADED = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
files = {n: m.__file__ for n, m in list(sys.modules.items()) if getattr(m, "__file__", None)}
print(json.dumps({"files": files, "names": sorted(sys.modules)}))
"""
_STDLIB = [Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib")]


def _loaded_distributions(modules: list[str], home: Path) -> dict[str, metadata.Distribution]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINREG_")}
    env.update(TWINREG_HOME=str(home), TWINREG_WARM_UP="0")
    result = subprocess.run(
        [sys.executable, "-c", _LOADED, *modules],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    dists = installed()
    owners = file_owners(dists)
    found: dict[str, metadata.Distribution] = {}
    unknown = []
    for name, file in loaded["files"].items():
        path = Path(file).resolve()
        if path in owners:
            found[owners[path]] = dists[owners[path]]
        elif not (path.is_relative_to(REPO) or any(path.is_relative_to(s) for s in _STDLIB)):
            unknown.append(f"{name}: {file}")
    by_top_level = metadata.packages_distributions()
    for name in loaded["names"]:
        for dist_name in by_top_level.get(name.split(".")[0], []):
            canonical = str(canonicalize_name(dist_name))
            if canonical in dists:
                found[canonical] = dists[canonical]
    assert unknown == [], f"modules from no installed distribution: {unknown}"
    return found


@pytest.mark.parametrize(
    "modules",
    [
        ["api.http.asgi"],  # what each uvicorn worker imports
        ["api.cli.main", "uvicorn", "api.http.asgi"],  # `twinreg serve` with one worker
    ],
    ids=["worker", "serve-command"],
)
def test_the_served_app_imports_no_gpl_distribution(modules: list[str], tmp_path: Path) -> None:
    loaded = _loaded_distributions(modules, tmp_path / "home")
    assert "litestar" in loaded and "numpy" in loaded  # the mapping found the app's parts
    families = {name: copyleft_of(dist) for name, dist in loaded.items() if name != "twinreg"}
    gpl = sorted(
        f"{name} {loaded[name].version} ({licence_of(loaded[name])})"
        for name, family in families.items()
        if family in ("GPL", "AGPL")
    )
    assert gpl == [], f"the served app loads GPL code: {gpl}"
    lgpl = {name for name, family in families.items() if family == "LGPL"}
    assert lgpl <= LGPL_DECIDED, f"LGPL distributions nobody decided about: {lgpl - LGPL_DECIDED}"
    undeclared = sorted(n for n in families if not licence_of(loaded[n]))
    assert undeclared == [], f"distributions that declare no licence: {undeclared}"
