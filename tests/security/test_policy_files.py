"""The policy files are watched by content: every change to any of them is seen, and a file
that cannot be read is an outage (everything withheld, ``/health`` 503) until it is fixed.

The class, for each of the five files: an edit that keeps the size and the modification
time, ``chmod 000``, deletion, and replacement by a directory. The tests run as root here,
and root reads a ``chmod 000`` file all the same: the processes that must not read it run
without the capabilities that override file permissions (``CAP_DAC_OVERRIDE``,
``CAP_DAC_READ_SEARCH``), as any unprivileged server would.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.composition.settings import Settings
from api.composition.tokens import issue_token
from governance.errors import PolicyError
from governance.policy.store import REQUIRED_FILES, PolicySet, PolicyStore
from tests.api.helpers import features_of, prepare_patient, twin_named
from tests.security.workers import worker

M = "whas500-mortality"
CATS = ["demographics", "vitals", "history"]
REPO = Path(__file__).resolve().parents[2]
PREDICT_LINE = "p, clinician, own, model/*, predict"
#: The same line, as long, granting nothing any token can carry.
NOT_PREDICT_LINE = "p, clinicien, own, model/*, predict"


def edit_in_place(path: Path, change: Callable[[bytes], bytes]) -> None:
    """Rewrite ``path`` with ``change`` of its bytes, keeping its size and timestamps."""
    before = path.stat()
    content = path.read_bytes()
    changed = change(content)
    assert changed != content and len(changed) == len(content)
    path.write_bytes(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def swap_first_lines(content: bytes) -> bytes:
    """The first two lines swapped: same bytes, same size, same meaning, new content."""
    first, second, rest = content.split(b"\n", 2)
    return b"\n".join([second, first, rest])


def without_permission_override() -> None:
    """In a child before ``exec``: drop the capabilities with which root reads a file
    whatever its mode (from the bounding set, so the program run never has them)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.fixture()
def policies(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(REPO / "policies", directory)
    return directory


@pytest.mark.parametrize("name", REQUIRED_FILES)
def test_an_edit_keeping_size_and_time_is_seen(policies: Path, name: str) -> None:
    store = PolicyStore(policies)
    before = store.current().version
    edit_in_place(policies / name, swap_first_lines)
    assert store.check_now().version == PolicySet(policies).version != before


@pytest.mark.parametrize("name", REQUIRED_FILES)
@pytest.mark.parametrize("damage", ["delete", "directory"])
def test_a_missing_file_is_an_outage_until_it_is_back(
    policies: Path, name: str, damage: str
) -> None:
    store = PolicyStore(policies)
    before = store.current().version
    path = policies / name
    saved = path.read_bytes()
    path.unlink()
    if damage == "directory":
        path.mkdir()
    with pytest.raises(PolicyError, match=name):
        store.check_now()
    if damage == "directory":
        path.rmdir()
    path.write_bytes(saved)
    assert store.check_now().version == before


_UNREADABLE_PROBE = """
import json, sys
from pathlib import Path
from governance.errors import PolicyError
from governance.policy.store import REQUIRED_FILES, PolicyStore

directory = Path(sys.argv[1])
store = PolicyStore(directory)
before = store.current().version
seen = {}
for name in REQUIRED_FILES:
    path = directory / name
    path.chmod(0)
    try:
        seen[name] = "served " + store.check_now().version
    except PolicyError as exc:
        seen[name] = "outage" if name in str(exc) else "outage without the file's name"
    path.chmod(0o644)
    seen[name] += "; then " + ("back" if store.check_now().version == before else "not back")
print(json.dumps(seen))
"""


def test_an_unreadable_file_is_an_outage_until_it_is_readable(policies: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _UNREADABLE_PROBE, str(policies)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=without_permission_override,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {name: "outage; then back" for name in REQUIRED_FILES}


def _body(demo_twins: list[Any], patient: str) -> dict[str, Any]:
    features = features_of(twin_named(demo_twins, M))
    return {"model": M, "patient_id": patient, "purpose": "treatment", "features": features}


def test_a_same_size_edit_of_the_grants_binds_the_next_decision(
    api: Any, demo_twins: list[Any]
) -> None:
    prepare_patient(api, "p-1", CATS)
    body = _body(demo_twins, "p-1")
    assert api.client.post("/v1/predictions", json=body, headers=api.clinician).status_code == 200
    path = api.service.settings.policies_dir / "rbac_policy.csv"
    edit_in_place(path, lambda b: b.replace(PREDICT_LINE.encode(), NOT_PREDICT_LINE.encode()))
    api.service.policies.check_now()  # the refresh interval, without waiting for it
    r = api.client.post("/v1/predictions", json=body, headers=api.clinician)
    assert r.status_code == 403 and r.json()["reasons"][0]["check"] == "role", r.text


def _until(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    """Wait (bounded) for a worker's next policy refresh to show ``what``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def test_an_unreadable_file_withholds_everything_in_a_serving_worker(
    settings: Settings, service: Any, demo_twins: list[Any]
) -> None:
    key = service.token_key
    clin = {"Authorization": "Bearer " + issue_token(key, "carla", "clinician", "st-mary", 600)}
    body = _body(demo_twins, "p-1")
    service.engine.dispose()
    with worker(settings, preexec_fn=without_permission_override) as url:
        put = httpx.put(f"{url}/v1/patients/p-1", json={"site": "st-mary"}, headers=clin)
        assert put.status_code == 200, put.text
        consent = {"purpose": "treatment", "data_categories": CATS}
        grant = httpx.post(f"{url}/v1/patients/p-1/consents", json=consent, headers=clin)
        assert grant.status_code == 201, grant.text
        for name in REQUIRED_FILES:
            path = settings.policies_dir / name
            path.chmod(0)
            try:
                _until(lambda: httpx.get(f"{url}/health").status_code == 503, f"{name} 503")
                r = httpx.post(f"{url}/v1/predictions", json=body, headers=clin)
                assert r.status_code in (403, 503) and "contributions" not in r.text, r.text
            finally:
                path.chmod(0o644)
            _until(lambda: httpx.get(f"{url}/health").status_code == 200, f"{name} back")
            r = httpx.post(f"{url}/v1/predictions", json=body, headers=clin)
            assert r.status_code == 200, r.text
