"""What ``twinreg serve`` runs (``uvicorn api.http.asgi:app``) loads no command-line or
benchmark code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_the_served_app_imports_no_cli_or_bench_module(tmp_path: Path) -> None:
    probe = (
        "import json, sys\n"
        "import api.http.asgi\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('api.'))))\n"
    )
    env = {**os.environ, "TWINREG_HOME": str(tmp_path / "home"), "TWINREG_WARM_UP": "0"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "api.http.app" in loaded and "api.composition.service" in loaded
    assert [m for m in loaded if m.startswith("api.cli")] == []


def test_the_command_line_module_loads_no_mlflow_nor_the_app(tmp_path: Path) -> None:
    """Every ``twinreg serve`` worker imports ``api.cli.main`` again (``multiprocessing``
    re-imports ``__main__``) before it can answer the supervisor's health ping: that import
    stays light. MLflow, SQLAlchemy and the app load after the worker answers, MLflow only
    when the registry is first used."""
    probe = (
        "import json, sys\n"
        "import api.cli.main, registry\n"
        "heavy = ('mlflow', 'sqlalchemy', 'pandas', 'shap', 'litestar', 'api.http', "
        "'api.composition.service')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy "
        "or m.startswith(heavy))))\n"
    )
    env = {**os.environ, "TWINREG_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
