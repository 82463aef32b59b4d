"""``twinreg`` command line: init | demo | serve | token | register | dossier | info | audit |
bench."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from api.composition.settings import Settings
from api.errors import ApiError
from governance.errors import GovernanceError
from registry.errors import RegistryError

HOME_HELP = "Home folder (default: $TWINREG_HOME or ./.twinreg)."


def _settings(home: str | None) -> Settings:
    return Settings.load(home)


def _service(home: str | None) -> Any:
    from api.composition.service import TwinregService

    return TwinregService(_settings(home))


def _fail(message: str) -> None:
    click.echo(f"twinreg: {message}", err=True)
    sys.exit(2)


def _database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLAlchemy's (none can exist before SQLAlchemy is loaded: this
    module does not import it, so that a ``serve`` worker, which imports it first, starts
    quickly)."""
    module = sys.modules.get("sqlalchemy.exc")
    return module is not None and isinstance(exc, module.SQLAlchemyError)


class _Commands(click.Group):
    """Every command's errors from our packages end as one line on stderr and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (GovernanceError, RegistryError, ApiError) as exc:
            _fail(str(exc))
        except Exception as exc:
            if not _database_error(exc):
                raise
            # the governance database, before our errors wrap it
            text = str(getattr(exc, "orig", None) or exc).strip()
            reason = (text.splitlines() or [type(exc).__name__])[0]
            _fail(f"the governance database cannot be used: {reason}")


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """twinreg: an explainable, governed registry of healthcare digital-twin models."""


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
def init(home: str | None) -> None:
    """Create the home folder: governance DB, MLflow store, secrets."""
    service = _service(home)
    service.registry.open()  # every other command opens the MLflow store on first use
    click.echo(f"twinreg home ready at {service.settings.home}")


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
def demo(home: str | None) -> None:
    """Train, register, audit and approve the demo twins; show governed predictions."""
    from api.cli.demo import run_demo

    sys.exit(run_demo(_service(home)))


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option(
    "--worker-timeout",
    default=None,
    type=click.IntRange(min=1),
    help="Seconds a worker may take to answer the supervisor's health ping before it is "
    "replaced, starting up included (default 30).",
)
def serve(home: str | None, host: str, port: int, workers: int, worker_timeout: int | None) -> None:
    """Serve the HTTP API (OpenAPI docs at /schema)."""
    import os

    import uvicorn

    from api.cli.serving import WORKER_HEALTHCHECK_SECONDS, log_config

    settings = _settings(home)
    os.environ["TWINREG_HOME"] = str(settings.home)
    _service(home)  # create the home and tables once, before any worker starts
    # uvloop and httptools when installed (uvicorn[standard]); see api.cli.serving for the
    # log and the workers' health check.
    uvicorn.run(
        "api.http.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(),
        log_level="info",
        access_log=False,
        timeout_worker_healthcheck=worker_timeout or WORKER_HEALTHCHECK_SECONDS,
    )


@main.group(invoke_without_command=True)
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--user", help="Subject (user name) of the token.")
@click.option("--role", help="data_scientist | validator | clinician | ethics_board | admin")
@click.option("--site", default=None, help="Site of a clinician (clinicians only).")
@click.option("--ttl", default="8h", show_default=True, help="Lifetime, e.g. 30m, 8h, 7d.")
@click.pass_context
def token(
    ctx: click.Context,
    home: str | None,
    user: str | None,
    role: str | None,
    site: str | None,
    ttl: str,
) -> None:
    """Print a signed bearer token (alone on stdout)."""
    if ctx.invoked_subcommand is not None:
        return
    from api.composition.tokens import issue_token, parse_ttl

    if not user or not role:
        _fail("--user and --role are required")
    assert user is not None and role is not None
    service = _service(home)
    try:
        roles = service.policies.current().roles
    except GovernanceError as exc:
        _fail(str(exc))
    if role not in roles:
        _fail(f"unknown role {role!r}; roles: {', '.join(sorted(roles))}")
    if role == "clinician" and not site:
        _fail("a clinician's token needs --site")
    if role != "clinician" and site:
        _fail("only clinicians carry a site")
    try:
        seconds = parse_ttl(ttl)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(issue_token(service.token_key, user, role, site, seconds))


@token.command("revoke")
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--jti", default=None, help="Revoke one token by its id.")
@click.option("--user", default=None, help="Revoke every token of this user.")
def token_revoke(home: str | None, jti: str | None, user: str | None) -> None:
    """Revoke a token (by jti) or every token of a user; applies on the next request."""
    if (jti is None) == (user is None):
        _fail("give exactly one of --jti or --user")
    _service(home).revocations.revoke("cli", jti=jti, subject=user)
    click.echo("revoked")


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--name", required=True, help="Registered model name.")
@click.option("--run-id", required=True, help="MLflow run holding a twin/ artifact folder.")
@click.option("--user", required=True, help="The registering data scientist.")
def register(home: str | None, name: str, run_id: str, user: str) -> None:
    """Register a twin already logged in the home's tracking store."""
    from governance.identity.principal import Principal

    try:
        rv = _service(home).register_logged_run(Principal(user, "data_scientist"), name, run_id)
    except (GovernanceError, RegistryError, ApiError) as exc:
        _fail(str(exc))
    click.echo(f"registered {rv.name} version {rv.version} (sha256 {rv.artifact_sha256})")


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--user", required=True, help="The validator computing the dossier.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole dossier as JSON.")
@click.argument("model")
@click.argument("version")
def dossier(home: str | None, user: str, as_json: bool, model: str, version: str) -> None:
    """Compute, judge and store the validation dossier of MODEL VERSION (exit 1 if it fails)."""
    from governance.identity.principal import Principal

    try:
        view = _service(home).run_dossier(Principal(user, "validator"), model, version)
    except (GovernanceError, RegistryError, ApiError) as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(view, indent=2))
    else:
        body = view["dossier"]
        verdict = "PASSED" if view["passed"] else "FAILED"
        risk = body["credibility"]["risk_level"]
        click.echo(f"{model} v{version}: dossier {verdict} (risk level {risk})")
        click.echo(f"id {view['id']}  sha256 {view['sha256']}")
        for name, value in body["validation"]["overall"]["metrics"].items():
            if value["estimate"] is not None and value["low"] is not None:
                low, high = value["low"], value["high"]
                click.echo(f"  {name:26} {value['estimate']:.4g} [{low:.4g}, {high:.4g}]")
        for reason in body["reasons"]:
            click.echo(f"  - {reason}")
    sys.exit(0 if view["passed"] else 1)


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(home: str | None, as_json: bool) -> None:
    """Show the home, store URLs, policy version and registered models."""
    data = _service(home).info()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key in (
        "home",
        "governance_url",
        "tracking_uri",
        "artifact_root",
        "policies",
        "policy_version",
    ):
        click.echo(f"{key:16} {data[key]}")
    click.echo("models:")
    for m in data["models"] or [
        {"name": "(none)", "kind": "", "approved_version": "", "versions": 0}
    ]:
        click.echo(
            f"  {m['name']:28} {m['kind']:24} approved={m['approved_version']} "
            f"versions={m['versions']}"
        )


@main.group()
def policy() -> None:
    """Policy commands (the scale path keeps Casbin's lines in the database)."""


@policy.command("load")
@click.option("--home", default=None, help=HOME_HELP)
def policy_load(home: str | None) -> None:
    """Copy policies/rbac_policy.csv into the governance DB (TWINREG_POLICY_STORE=database)."""
    try:
        version = _service(home).load_policy_lines("cli")
    except (GovernanceError, ApiError) as exc:
        _fail(str(exc))
    click.echo(f"policy lines loaded; policy version {version}")


@main.group()
def audit() -> None:
    """Audit-log commands."""


@audit.command("verify")
@click.option("--home", default=None, help=HOME_HELP)
def audit_verify(home: str | None) -> None:
    """Recompute the hash chain; exit 1 naming the first record that does not match."""
    result = _service(home).audit_verify(None)
    if result["ok"]:
        click.echo(f"audit chain verified: {result['count']} records")
        return
    click.echo(f"audit chain BROKEN: {result['message']}", err=True)
    sys.exit(1)


@audit.command("checkpoint")
@click.option("--home", default=None, help=HOME_HELP)
def audit_checkpoint(home: str | None) -> None:
    """Print and store the chain head (count + hash) outside the database."""
    cp = _service(home).audit_checkpoint()
    click.echo(f"{cp['count']} {cp['hash']}")


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--rounds", default=300, show_default=True, type=int)
@click.option(
    "--suite",
    type=click.Choice(["governed", "mechanistic", "reports", "all"]),
    default="governed",
    show_default=True,
)
def bench(home: str | None, rounds: int, suite: str) -> None:
    """Benchmarks, printed as ratios measured side by side in one run.

    governed: bare vs governed explained prediction, in-process and over HTTP, plus a
    bounded load test with 1 and 2 workers. mechanistic: numba kernels vs solve_ivp,
    batch threads, explanation vs kernel work, cold start. reports: the ethics-board
    report over 100,000 audit records, next to the chain verification it includes."""
    if suite in ("governed", "all"):
        from api.cli.bench import run_bench

        run_bench(_service(home), rounds)
    if suite in ("mechanistic", "all"):
        from api.cli.bench_mechanistic import run_mechanistic_bench

        run_mechanistic_bench()
    if suite in ("reports", "all"):
        from api.cli.bench_reports import run_reports_bench

        run_reports_bench()


if __name__ == "__main__":
    main()
