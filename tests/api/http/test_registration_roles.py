"""Only data scientists register twin versions: every other role is refused by the
service's registration entry points (``register_version``, the Python API, and
``register_logged_run``, behind ``twinreg register``), nothing reaches MLflow or the
governance database, and the refusal is audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import pytest

from api.cli.demo import DATA_SCIENTIST, SITE
from api.composition.service import TwinregService
from governance.errors import Forbidden
from governance.identity.principal import Principal
from models.demo_twins import DemoTwin
from registry.layout import write_twin_layout
from tests.api.helpers import run_sql, twin_named

WHAS = "whas500-mortality"

#: Every role but data_scientist, as its tokens would carry it (clinicians have a site).
OTHER_ROLES = [
    Principal("victor", "validator"),
    Principal("carla", "clinician", SITE),
    Principal("erin", "ethics_board"),
    Principal("ada", "admin"),
]


def _state(service: TwinregService, name: str) -> dict[str, Any]:
    """What a registration would change: MLflow's registered model and versions, and the
    governance database's versions and transitions of ``name``."""
    client = mlflow.MlflowClient(tracking_uri=service.settings.tracking_uri)
    url = service.settings.governance_url
    return {
        "mlflow models": [
            m.name for m in client.search_registered_models(filter_string=f"name = '{name}'")
        ],
        "mlflow versions": sorted(
            int(v.version) for v in client.search_model_versions(f"name = '{name}'")
        ),
        "versions": run_sql(
            url, "SELECT version, status, registrant FROM model_version WHERE model = :m", m=name
        ),
        "transitions": run_sql(
            url, "SELECT version, to_status FROM transition WHERE model = :m", m=name
        ),
    }


def _refused(
    service: TwinregService, principal: Principal, name: str, attempt: Callable[[], Any]
) -> None:
    """``attempt`` raises Forbidden, changes nothing and writes exactly one audit record:
    the refusal, naming the principal, the model and the reason."""
    before = _state(service, name)
    head = service.audit.head()[0]
    with pytest.raises(Forbidden, match=f"role '{principal.role}' may not register"):
        attempt()
    assert _state(service, name) == before
    new = [r for r in service.audit.records(offset=head) if r["action"] != "policy.change"]
    assert [r["action"] for r in new] == ["model.register.refused"], new
    record = new[0]
    assert record["principal"] == principal.to_audit()
    assert record["object"] == f"model/{name}"
    assert record["reason"] == "role"
    assert record["policy_version"] == service.policies.current().version


@pytest.mark.parametrize("principal", OTHER_ROLES, ids=lambda p: p.role)
def test_only_data_scientists_register_versions(
    service: TwinregService, demo_twins: list[DemoTwin], principal: Principal
) -> None:
    twin = twin_named(demo_twins, WHAS)
    assert _state(service, WHAS)["versions"], "the demo twin is registered"
    _refused(
        service,
        principal,
        WHAS,
        lambda: service.register_version(
            principal, WHAS, twin.card.kind, twin.model, twin.card, twin.evaluation
        ),
    )


def test_only_data_scientists_register_a_logged_run(
    service: TwinregService, demo_twins: list[DemoTwin], tmp_path: Path
) -> None:
    """The CLI's path (a run already logged with a ``twin/`` folder): refused for every
    other role; the same run then registers for a data scientist, so the refusals were
    about the role, not the run."""
    twin = twin_named(demo_twins, "diabetes-progression")
    layout = tmp_path / "twin"
    layout.mkdir()
    write_twin_layout(layout, twin.card.kind, twin.model, twin.card, twin.evaluation)
    client = mlflow.MlflowClient(tracking_uri=service.settings.tracking_uri)
    experiment = client.create_experiment(
        f"logged-{tmp_path.name}", artifact_location=(tmp_path / "arts").as_uri()
    )
    run_id = client.create_run(experiment).info.run_id
    client.log_artifacts(run_id, str(layout), artifact_path="twin")
    client.set_terminated(run_id)
    name = "logged-twin"
    for principal in OTHER_ROLES:
        _refused(
            service,
            principal,
            name,
            lambda principal=principal: service.register_logged_run(principal, name, run_id),
        )
    assert _state(service, name) == {
        "mlflow models": [],
        "mlflow versions": [],
        "versions": [],
        "transitions": [],
    }
    registered = service.register_logged_run(DATA_SCIENTIST, name, run_id)
    assert registered.version == "1"
    state = _state(service, name)
    assert state["mlflow models"] == [name] and state["mlflow versions"] == [1]
    assert [tuple(r) for r in state["versions"]] == [("1", "registered", DATA_SCIENTIST.user)]
