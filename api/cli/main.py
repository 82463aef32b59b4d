"""``twinreg`` command line: init | upgrade | demo | serve | ingest | token | register | dossier |
info | policy | audit | bench.

The governance database's schema: every command creates a new one at the head revision;
``init``, ``upgrade`` and ``serve`` bring an older one up to date (schema migrations);
``info`` reports on it; the other commands refuse it, naming ``twinreg upgrade``."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from api.cli.audit import audit
from api.cli.bench_suites import SUITES
from api.cli.common import HOME_HELP, _fail, _service, _settings
from api.cli.ingest import ingest
from api.cli.trial import trial
from api.errors import ApiError
from governance.errors import GovernanceError
from models.errors import DemoDataUnavailable
from registry import RegistryError

if TYPE_CHECKING:
    pass

#: How long an idle kept-alive connection stays open between requests (uvicorn's default).
KEEP_ALIVE_SECONDS = 5


def _database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLAlchemy's (none can exist before SQLAlchemy is loaded: this
    module does not import it, so that a ``serve`` worker, which imports it first, starts
    quickly)."""
    module = sys.modules.get("sqlalchemy.exc")
    return module is not None and isinstance(exc, module.SQLAlchemyError)


class _Commands(click.Group):
    """Every command's errors from our packages end as one line on stderr and exit 2.

    Every command runs with umask 077: whatever it creates (MLflow's files included) is
    private to its owner; the stores and secrets are created 0600 in any case
    (:mod:`api.composition.home`)."""

    def invoke(self, ctx: click.Context) -> Any:
        umask = os.umask(0o077)
        try:
            return super().invoke(ctx)
        except (GovernanceError, RegistryError, ApiError, DemoDataUnavailable) as exc:
            _fail(str(exc))
        except OSError as exc:  # an unusable home or file path: one line, no traceback
            if exc.filename is None:
                raise
            _fail(f"cannot use {exc.filename}: {exc.strerror or type(exc).__name__}")
        except Exception as exc:
            if not _database_error(exc):
                raise
            # the governance database, before our errors wrap it
            text = str(getattr(exc, "orig", None) or exc).strip()
            reason = (text.splitlines() or [type(exc).__name__])[0]
            _fail(f"the governance database cannot be used: {reason}")
        finally:
            os.umask(umask)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """twinreg: an explainable, governed registry of healthcare digital-twin models."""


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
def init(home: str | None) -> None:
    """Create the home folder: governance DB, MLflow store, secrets (an existing home's
    governance schema is upgraded, as by `twinreg upgrade`)."""
    service = _service(home, schema="upgrade", create=True)
    service.registry.open()  # every other command opens the MLflow store on first use
    if service.schema.upgraded:
        click.echo(service.schema.describe())
    click.echo(f"twinreg home ready at {service.settings.home}")


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
def upgrade(home: str | None) -> None:
    """Bring the governance database's schema to this twinreg's revision (back it up
    first); prints one line: from which revision to which."""
    click.echo(_service(home, schema="upgrade").schema.describe())


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
def demo(home: str | None) -> None:
    """Train, register, audit and approve the demo twins; show governed predictions."""
    from api.cli.demo import run_demo
    from models.datasets import require_demo_data

    require_demo_data()  # before anything is created: the data sets are an optional extra
    sys.exit(run_demo(_service(home, create=True)))


@main.command("demo-clinic")
@click.option("--home", default=None, help=HOME_HELP)
def demo_clinic(home: str | None) -> None:
    """FHIR R4, device streams and CDS Hooks as a hospital's systems reach them, on a real
    server on loopback (runs the demo first on a new home)."""
    from api.cli.demo_clinic import run_clinic_demo
    from models.datasets import require_demo_data

    require_demo_data()
    sys.exit(run_clinic_demo(_service(home, create=True)))


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
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
    import uvicorn

    from api.cli.serving import WORKER_HEALTHCHECK_SECONDS, log_config
    from api.http.read_timeouts import MAX_HEAD_BYTES

    settings = _settings(home)
    os.environ["TWINREG_HOME"] = str(settings.home)
    # create the home and bring its schema to the head once, before any worker starts
    schema = _service(home, schema="upgrade", create=True).schema
    if schema.upgraded:
        click.echo(schema.describe())
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"twinreg: serving {settings.home} on http://{shown}:{port} (OpenAPI docs at /schema)"
    )
    # uvloop and httptools when installed (uvicorn[standard]); see api.cli.serving for the
    # log and the workers' health check. No access log: every decision is in the audit log.
    # Read deadlines: a request's head and body must arrive in time (TWINREG_HEADER_TIMEOUT,
    # TWINREG_BODY_TIMEOUT), an idle kept-alive connection closes after 5 s.
    uvicorn.run(
        "api.http.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(),
        log_level="info",
        access_log=False,
        http="api.http.read_timeouts:TimedHttp",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        timeout_worker_healthcheck=worker_timeout or WORKER_HEALTHCHECK_SECONDS,
        # X-Forwarded-For/-Proto only from the proxies TWINREG_TRUSTED_PROXIES names (none
        # by default: the client address is the socket peer; it keys the limits)
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )


@main.group(invoke_without_command=True)
@click.option("--home", default=None, help=HOME_HELP)
@click.option(
    "--user",
    help="Subject of the token: a user name (a-z 0-9 . _ @ -, normalised: ' Dana ' is dana).",
)
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
    from api.composition.tokens import SITE_OPTIONAL_ROLES, SITE_ROLES_RULE, issue_token, parse_ttl
    from governance.identity.user_names import user_name

    if user is None or not role:
        _fail("--user and --role are required")
    assert user is not None and role is not None
    name = user_name(user)  # one person, one name: " Dana " is dana
    if name != user:
        click.echo(f"twinreg: the token is for user {name!r} (user names are normalised)", err=True)
    service = _service(home)
    try:
        roles = service.policies.current().roles
    except GovernanceError as exc:
        _fail(str(exc))
    if role not in roles:
        _fail(f"unknown role {role!r}; roles: {', '.join(sorted(roles))}")
    if role == "clinician" and not site:
        _fail("a clinician's token needs --site")
    if role != "clinician" and role not in SITE_OPTIONAL_ROLES and site:
        _fail(SITE_ROLES_RULE)
    try:
        seconds = parse_ttl(ttl)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(issue_token(service.token_key, name, role, site, seconds))


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
    data = _service(home, schema="inspect").info()
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
    click.echo(f"{'schema':16} {data['schema']['description']}")
    if data["schema"]["state"] in ("unversioned", "behind"):
        click.echo(f"{'':16} back up the governance database, then run: twinreg upgrade")
    if data["schema"]["state"] != "current":
        return  # the models of a schema this code does not read are not listed
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


@main.command()
@click.option("--home", default=None, help=HOME_HELP)
@click.option("--rounds", default=300, show_default=True, type=int)
@click.option(
    "--suite",
    type=click.Choice([*SUITES, "all"]),
    default="governed",
    show_default=True,
    help="; ".join(f"{name}: {suite.measures}" for name, suite in SUITES.items()),
)
@click.option(
    "--patients",
    default=None,
    type=click.IntRange(1_000, 10_000_000),
    help="virtual patients of the trials suite (default 1,000,000)",
)
def bench(home: str | None, rounds: int, suite: str, patients: int | None) -> None:
    """Benchmarks, printed as ratios measured side by side in one run; ``all`` runs every
    suite in turn."""
    for name, chosen in SUITES.items():
        if suite in (name, "all"):
            chosen.run(lambda: _service(home, create=True), rounds, patients)


main.add_command(audit)
main.add_command(ingest)
main.add_command(trial)


if __name__ == "__main__":
    main()
