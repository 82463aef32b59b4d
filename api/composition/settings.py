"""The one settings object: read from the environment (and ``--home``) in one place.

| variable | default |
|---|---|
| ``TWINREG_HOME`` | ``./.twinreg`` |
| ``TWINREG_GOVERNANCE_URL`` | ``sqlite:///<home>/governance.db`` |
| ``TWINREG_TRACKING_URI`` | ``sqlite:///<home>/mlflow.db`` |
| ``TWINREG_ARTIFACT_ROOT`` | ``<home>/mlartifacts`` |
| ``TWINREG_POLICIES`` | the repository's ``policies/`` folder |
| ``TWINREG_MAX_BODY_BYTES`` | ``65536`` |
| ``TWINREG_RATE_LIMIT`` | ``600`` requests per minute per principal |
| ``TWINREG_UNAUTHENTICATED_LIMIT`` | ``20`` refused credentials per minute per client address |
| ``TWINREG_WORK_BUDGET`` | ``30`` s of expensive work per minute per principal |
| ``TWINREG_EXPENSIVE_CONCURRENCY`` | ``1`` expensive request running at a time per worker |
| ``TWINREG_EXPENSIVE_QUEUE`` | ``4`` expensive requests waiting per worker, then 503 |
| ``TWINREG_TRUSTED_PROXIES`` | unset: the client address is the socket peer (no proxy trusted) |
| ``TWINREG_POLICY_STORE`` | ``files`` (``policies/``); ``database``: Casbin lines in the DB |
| ``TWINREG_REDIS_URL`` | unset: rate-limit counters in memory (one worker); set: in Redis |
| ``TWINREG_POLICY_RECHECK_SECONDS`` | ``5``: policy-generation check while a watcher listens |
| ``TWINREG_AUDIT_KEY_FILE`` | ``<home>/audit-signing-key.pem``: Ed25519 key signing checkpoints |
| ``TWINREG_AUDIT_CHECKPOINT_RECORDS`` | ``1000``: a signed checkpoint at least this often |
| ``TWINREG_AUDIT_CHECKPOINT_SECONDS`` | ``60``: and at least this often while records are added |
| ``TWINREG_SECURE_COOKIES`` | ``0``: page cookies Secure over https only; ``1``: always |
| ``TWINREG_HEADER_TIMEOUT`` | ``10`` s for a request's line and headers to arrive |
| ``TWINREG_BODY_TIMEOUT`` | ``30`` s for a request's body to arrive once its head has |
| ``TWINREG_SITE_TIME_ZONE`` | ``UTC``: the IANA zone recommended dose times are given in |
| ``TWINREG_PUBLIC_BASE_URL`` | unset: the URL EHRs call (a CDS Hooks JWT's ``aud`` base) |
| ``TWINREG_CDS_ISSUERS`` | ``<home>/cds-issuers.toml``: EHRs allowed to call CDS Hooks |
| ``TWINREG_CDS_RATE_LIMIT`` | ``600`` hook calls per minute per EHR issuer |
| ``TWINREG_STREAM_PREFIX`` | ``twinreg``: first topic level / subject token of device streams |
| ``TWINREG_MQTT_URL`` | ``mqtt://127.0.0.1:1883`` (``mqtts://`` for TLS) |
| ``TWINREG_MQTT_USERNAME`` | unset: the ingester's broker user name (anonymous without) |
| ``TWINREG_MQTT_PASSWORD_FILE`` | unset: a file holding the ingester's broker password |
| ``TWINREG_MQTT_CLIENT_ID`` | ``twinreg-ingester``: fixed, so the broker keeps its session |
| ``TWINREG_NATS_URL`` | ``nats://127.0.0.1:4222`` (``tls://`` for TLS) |
| ``TWINREG_NATS_USERNAME`` | unset: the ingester's NATS user name |
| ``TWINREG_NATS_PASSWORD_FILE`` | unset: a file holding the ingester's NATS password |
| ``TWINREG_INGEST_BATCH`` | ``500``: most readings committed in one transaction |
| ``TWINREG_INGEST_WAIT_MS`` | ``20``: longest wait for a batch to fill before committing it |
| ``TWINREG_RAY_ADDRESS`` | unset: trials start a local Ray (a worker per core); set: that one |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.errors import ConfigError

_REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


_STREAM_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class StreamSettings:
    """Where ``twinreg ingest`` reads device readings (api.streams). Topics:
    ``<prefix>/devices/<device>/readings`` in, ``<prefix>/dead-letter/<device>`` out;
    NATS subjects the same with dots, in the JetStream stream ``<PREFIX>_READINGS``
    (dead letters in ``<PREFIX>_DEAD_LETTERS``)."""

    prefix: str = "twinreg"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password_file: Path | None = None
    mqtt_client_id: str = "twinreg-ingester"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_username: str | None = None
    nats_password_file: Path | None = None
    batch: int = 500
    wait_ms: int = 20

    @classmethod
    def load(cls, env: Mapping[str, str]) -> StreamSettings:
        prefix = env.get("TWINREG_STREAM_PREFIX", "twinreg").strip()
        if not _STREAM_PREFIX.fullmatch(prefix):
            raise ConfigError(
                "TWINREG_STREAM_PREFIX must be 1-32 characters of a-z, 0-9, _ and - "
                "(a topic level and a subject token)"
            )
        mqtt_url = env.get("TWINREG_MQTT_URL", cls.mqtt_url).strip()
        nats_url = env.get("TWINREG_NATS_URL", cls.nats_url).strip()
        if not mqtt_url.startswith(("mqtt://", "mqtts://")):
            raise ConfigError("TWINREG_MQTT_URL must be mqtt://host:port or mqtts://host:port")
        if not nats_url.startswith(("nats://", "tls://")):
            raise ConfigError("TWINREG_NATS_URL must be nats://host:port or tls://host:port")
        batch = _at_least_one(env, "TWINREG_INGEST_BATCH", "500")
        if batch > 500:
            raise ConfigError("TWINREG_INGEST_BATCH must be at most 500 (one ingest's limit)")
        return cls(
            prefix=prefix,
            mqtt_url=mqtt_url,
            mqtt_username=env.get("TWINREG_MQTT_USERNAME") or None,
            mqtt_password_file=_file(env, "TWINREG_MQTT_PASSWORD_FILE"),
            mqtt_client_id=env.get("TWINREG_MQTT_CLIENT_ID", cls.mqtt_client_id).strip()
            or cls.mqtt_client_id,
            nats_url=nats_url,
            nats_username=env.get("TWINREG_NATS_USERNAME") or None,
            nats_password_file=_file(env, "TWINREG_NATS_PASSWORD_FILE"),
            batch=batch,
            wait_ms=_at_least_one(env, "TWINREG_INGEST_WAIT_MS", "20"),
        )


def _file(env: Mapping[str, str], variable: str) -> Path | None:
    value = env.get(variable)
    return Path(value).expanduser().resolve() if value else None


@dataclass(frozen=True)
class Settings:
    home: Path
    governance_url: str
    tracking_uri: str
    artifact_root: str
    policies_dir: Path
    max_body_bytes: int = 64 * 1024
    rate_limit_per_minute: int = 600
    #: Refused credentials per minute from one client address before its further refusals
    #: are answered 429 and tallied in one audit record per window (api.http.refusal_limit).
    unauthenticated_limit_per_minute: int = 20
    #: Proxies whose X-Forwarded-For / -Proto ``twinreg serve`` believes (uvicorn's
    #: ``forwarded_allow_ips``); empty: none, the client address is the socket peer.
    trusted_proxies: str = ""
    #: Seconds of expensive work (simulations, mechanistic or plotted predictions, reports)
    #: one principal may use per minute, then 429 (api.http.work).
    work_budget_seconds: float = 30.0
    #: Expensive requests running at once in one worker, and waiting beyond those (then 503).
    expensive_concurrency: int = 1
    expensive_queue: int = 4
    redis_url: str | None = None
    policy_store: str = "files"
    policy_recheck_seconds: float = 5.0
    #: Compile the mechanistic kernels and shap's exact explainer before serving, so the
    #: first request does not pay for it (TWINREG_WARM_UP=0 skips it).
    warm_up: bool = False
    #: The Ed25519 key signing the audit checkpoints (None: ``<home>/audit-signing-key.pem``).
    audit_key_file: Path | None = None
    #: The server signs a checkpoint of the audit chain at least every this many records...
    checkpoint_every_records: int = 1000
    #: ... and at least every this many seconds while records are being added.
    checkpoint_every_seconds: float = 60.0
    #: Mark the pages' cookies Secure on every request, not only on those that came over
    #: https (TLS ends at a proxy that does not send X-Forwarded-Proto).
    secure_cookies: bool = False
    #: A connection whose request head (line and headers), or whose announced body, does
    #: not arrive within this many seconds is closed (api.http.read_timeouts).
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    #: The site's IANA time zone: a recommendation's dose times are given in it (the
    #: schedule itself runs on absolute time).
    site_time_zone: str = "UTC"
    #: The URL EHRs call twinreg at, without a trailing slash: a CDS Hooks JWT's ``aud``
    #: must be exactly this + the path called (None: every hook call is refused, 401).
    public_base_url: str | None = None
    #: The EHR issuers allowed to call the CDS Hooks services (None: ``<home>/cds-issuers.toml``).
    cds_issuers: Path | None = None
    #: Hook calls per minute per EHR issuer (not per address: api.cds).
    cds_rate_limit_per_minute: int = 600
    #: Device streams: brokers, topics, batches (``twinreg ingest``).
    streams: StreamSettings = StreamSettings()
    #: The Ray cluster in-silico trials run on (``ray://host:10001`` or ``host:6379``);
    #: None: a local Ray started for the trial (api.composition.trial_runner).
    ray_address: str | None = None

    @classmethod
    def load(
        cls, home: str | Path | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ
        home_path = Path(home or env.get("TWINREG_HOME") or ".twinreg").expanduser().resolve()
        policies = Path(env.get("TWINREG_POLICIES") or _REPO_POLICIES).expanduser().resolve()
        try:
            max_body = int(env.get("TWINREG_MAX_BODY_BYTES", str(64 * 1024)))
            rate_limit = int(env.get("TWINREG_RATE_LIMIT", "600"))
            unauthenticated = int(env.get("TWINREG_UNAUTHENTICATED_LIMIT", "20"))
        except ValueError as exc:
            raise ConfigError(
                "TWINREG_MAX_BODY_BYTES, TWINREG_RATE_LIMIT and TWINREG_UNAUTHENTICATED_LIMIT"
                " must be whole numbers"
            ) from exc
        recheck = _seconds(env, "TWINREG_POLICY_RECHECK_SECONDS", "5")
        every_seconds = _seconds(env, "TWINREG_AUDIT_CHECKPOINT_SECONDS", "60")
        every_records = _at_least_one(env, "TWINREG_AUDIT_CHECKPOINT_RECORDS", "1000")
        key_file = env.get("TWINREG_AUDIT_KEY_FILE")
        issuers = env.get("TWINREG_CDS_ISSUERS")
        if rate_limit < 1 or unauthenticated < 1:
            raise ConfigError(
                "TWINREG_RATE_LIMIT and TWINREG_UNAUTHENTICATED_LIMIT must be at least 1 per minute"
            )
        return cls(
            home=home_path,
            governance_url=env.get("TWINREG_GOVERNANCE_URL")
            or f"sqlite:///{home_path / 'governance.db'}",
            tracking_uri=env.get("TWINREG_TRACKING_URI") or f"sqlite:///{home_path / 'mlflow.db'}",
            artifact_root=env.get("TWINREG_ARTIFACT_ROOT") or str(home_path / "mlartifacts"),
            policies_dir=policies,
            max_body_bytes=max_body,
            rate_limit_per_minute=rate_limit,
            unauthenticated_limit_per_minute=unauthenticated,
            trusted_proxies=env.get("TWINREG_TRUSTED_PROXIES", "").strip(),
            work_budget_seconds=_seconds(env, "TWINREG_WORK_BUDGET", "30"),
            expensive_concurrency=_at_least_one(env, "TWINREG_EXPENSIVE_CONCURRENCY", "1"),
            expensive_queue=_at_least_one(env, "TWINREG_EXPENSIVE_QUEUE", "4"),
            redis_url=env.get("TWINREG_REDIS_URL") or None,
            policy_store=_policy_store(env.get("TWINREG_POLICY_STORE", "files")),
            policy_recheck_seconds=recheck,
            warm_up=env.get("TWINREG_WARM_UP", "1").strip().lower() not in ("0", "false", "no"),
            audit_key_file=Path(key_file).expanduser().resolve() if key_file else None,
            checkpoint_every_records=every_records,
            checkpoint_every_seconds=every_seconds,
            secure_cookies=_flag(env, "TWINREG_SECURE_COOKIES"),
            header_timeout_seconds=_seconds(env, "TWINREG_HEADER_TIMEOUT", "10"),
            body_timeout_seconds=_seconds(env, "TWINREG_BODY_TIMEOUT", "30"),
            site_time_zone=_time_zone(env.get("TWINREG_SITE_TIME_ZONE", "UTC")),
            public_base_url=_base_url(env.get("TWINREG_PUBLIC_BASE_URL")),
            cds_issuers=Path(issuers).expanduser().resolve() if issuers else None,
            cds_rate_limit_per_minute=_at_least_one(env, "TWINREG_CDS_RATE_LIMIT", "600"),
            streams=StreamSettings.load(env),
            ray_address=env.get("TWINREG_RAY_ADDRESS", "").strip() or None,
        )

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.json"

    @property
    def checkpoints_file(self) -> Path:
        return self.home / "audit-checkpoints.jsonl"

    @property
    def audit_signing_key_file(self) -> Path:
        return self.audit_key_file or self.home / "audit-signing-key.pem"

    @property
    def cds_issuers_file(self) -> Path:
        return self.cds_issuers or self.home / "cds-issuers.toml"


def _base_url(value: str | None) -> str | None:
    """An http(s) URL without query or fragment, its trailing slash removed (None: unset)."""
    if value is None or not value.strip():
        return None
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "TWINREG_PUBLIC_BASE_URL must be an http(s) URL without query or fragment, "
            "e.g. https://twinreg.example.org"
        )
    return text


def _time_zone(name: str) -> str:
    """An IANA time zone name the system's zone database knows."""
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"TWINREG_SITE_TIME_ZONE must be an IANA time zone name (e.g. Europe/London): {exc}"
        ) from exc
    return name.strip()


def _policy_store(value: str) -> str:
    if value not in ("files", "database"):
        raise ConfigError("TWINREG_POLICY_STORE must be 'files' or 'database'")
    return value


def _seconds(env: Mapping[str, str], variable: str, default: str) -> float:
    """A positive number of seconds."""
    try:
        seconds = float(env.get(variable, default))
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{variable} must be a positive number of seconds")
    return seconds


def _flag(env: Mapping[str, str], variable: str) -> bool:
    """On (1, true, yes) or off (unset, 0, false, no)."""
    text = env.get(variable, "0").strip().lower()
    if text not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"{variable} must be 1 or 0")
    return text in ("1", "true", "yes")


def _at_least_one(env: Mapping[str, str], variable: str, default: str) -> int:
    try:
        count = int(env.get(variable, default))
    except ValueError:
        count = 0
    if count < 1:
        raise ConfigError(f"{variable} must be a whole number of at least 1")
    return count
