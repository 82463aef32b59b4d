"""The demo's data sets are an optional extra (scikit-survival is GPL-3.0, issue 13,
finding 23): without it, the commands that need them say what to install, in one line,
exit 2, and create nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "command",
    [
        ["demo"],
        ["bench", "--suite", "governed", "--rounds", "1"],
        ["demo-clinic"],
        ["bench", "--suite", "cds", "--rounds", "1"],
    ],
    ids=["demo", "bench-governed", "demo-clinic", "bench-cds"],
)
def test_without_the_demo_extra_the_command_says_what_to_install(
    command: list[str], tmp_path: Path
) -> None:
    blocked = tmp_path / "blocked" / "sksurv"  # scikit-survival, as if not installed
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('No module named sksurv')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINREG_")}
    env["PYTHONPATH"] = os.pathsep.join([str(blocked.parent), str(REPO)])
    home = tmp_path / "home"
    cli = [sys.executable, "-c", "from api.cli.main import main; main()"]
    result = subprocess.run(
        [*cli, *command, "--home", str(home)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("twinreg: ") and "pip install -e '.[demo]'" in lines[0]
    assert not home.exists()
