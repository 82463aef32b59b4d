"""The twin registry: MLflow model registry + safe artifacts + digest check + cache."""

from __future__ import annotations

import hmac
import tempfile
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd

from models.card import TwinCard, TwinKind
from models.environment import build_environment, environment_differences
from models.uncertainty import Uncertainty
from registry import layout, names
from registry._mlflow import already_exists, open_client, translated
from registry.cache import LoadedCache
from registry.errors import ArtifactInvalid, ArtifactTampered
from registry.hashing import artifact_digest
from registry.locations import default_artifact_root, local_copy

if TYPE_CHECKING:
    from mlflow import MlflowClient

EXPERIMENT_NAME = "twinreg"
APPROVED_ALIAS = "approved"

TAG_KIND = "twinreg.kind"
TAG_REGISTRANT = "twinreg.registrant"
TAG_ARTIFACT_SHA256 = "twinreg.artifact_sha256"
TAG_EVALUATION_DIGEST = "twinreg.evaluation_digest"


@dataclass(frozen=True)
class RegisteredVersion:
    """What registration produced; ``artifact_sha256`` goes to the governance record."""

    name: str
    version: str
    run_id: str
    kind: TwinKind
    card: TwinCard
    artifact_sha256: str
    evaluation_digest: str
    environment: dict[str, str]


@dataclass(frozen=True, eq=False)
class LoadedTwin:
    """A verified, loaded twin version (shared between requests: treat as read-only)."""

    name: str
    version: str
    kind: TwinKind
    card: TwinCard
    model: object
    evaluation: pd.DataFrame
    environment: dict[str, str]
    #: Differences between the recorded build environment and the running one.
    environment_warnings: tuple[str, ...]
    artifact_sha256: str
    #: The explainer's background registered with the version (card feature columns) and
    #: its SHA-256; None for a version registered without one (an earlier release).
    background: pd.DataFrame | None = None
    background_sha256: str | None = None
    #: How a patient's range is found (models.uncertainty); None: registered without one.
    uncertainty: Uncertainty | None = None


class TwinRegistry:
    """Registers, verifies and loads twin versions in an MLflow tracking store.

    ``tracking_uri`` is passed to this client only (no global MLflow state). With a SQLite
    store and no ``artifact_root``, artifacts go to ``mlartifacts/`` beside the database.
    The store is opened on first use; call :meth:`ping` at start-up to open (and, for a new
    SQLite store, migrate) it early and to fail fast when it is unreachable.
    """

    def __init__(
        self, tracking_uri: str, artifact_root: str | None = None, *, cache_size: int = 32
    ) -> None:
        self.tracking_uri = tracking_uri
        if artifact_root is None:
            artifact_root = default_artifact_root(tracking_uri)
        self.artifact_root = artifact_root
        self._client_instance: MlflowClient | None = None
        self._client_lock = threading.Lock()
        self._cache: LoadedCache[LoadedTwin] = LoadedCache(cache_size)
        self._experiment_id: str | None = None

    @classmethod
    def embedded(cls, home: Path, *, cache_size: int = 32) -> TwinRegistry:
        """The embedded default: ``<home>/mlflow.db`` and ``<home>/mlartifacts``."""
        home = home.resolve()
        home.mkdir(parents=True, exist_ok=True)
        return cls(
            f"sqlite:///{home / 'mlflow.db'}",
            (home / "mlartifacts").as_uri(),
            cache_size=cache_size,
        )

    @property
    def _client(self) -> MlflowClient:
        """The MLflow client, created on first use (opening a store may migrate it)."""
        client = self._client_instance
        if client is not None:
            return client
        with self._client_lock:
            if self._client_instance is None:
                with translated("opening the tracking store"):
                    self._client_instance = open_client(self.tracking_uri)
            return self._client_instance

    # ------------------------------------------------------------------ registration

    def register(
        self,
        name: str,
        kind: TwinKind,
        model: object,
        card: TwinCard,
        evaluation: pd.DataFrame,
        registrant: str,
        background: pd.DataFrame | None = None,
        uncertainty: Uncertainty | None = None,
    ) -> RegisteredVersion:
        """Store ``model`` safely with its card, evaluation set, environment and (when
        given) the explainer's background rows and the way a patient's range is found;
        register it."""
        name = names.model_name(name)
        registrant = names.registrant(registrant)
        environment = build_environment()
        with tempfile.TemporaryDirectory(prefix="twinreg-") as tmp:
            directory = Path(tmp) / layout.ARTIFACT_PATH
            evaluation_digest = layout.write_twin_layout(
                directory, kind, model, card, evaluation, environment, background, uncertainty
            )
            digest = artifact_digest(directory)
            experiment_id = self._experiment()
            with translated("logging the twin run"):
                run = self._client.create_run(
                    experiment_id,
                    tags={TAG_KIND: kind.value, TAG_REGISTRANT: registrant, "twinreg.name": name},
                    run_name=f"{name}-{kind.value}",
                )
                run_id = str(run.info.run_id)
                self._client.log_artifacts(run_id, str(directory), layout.ARTIFACT_PATH)
                self._client.set_terminated(run_id)
        return self._create_version(
            name, run_id, registrant, card, digest, evaluation_digest, environment
        )

    def register_logged_run(self, name: str, run_id: str, registrant: str) -> RegisteredVersion:
        """Register a run already in the store whose artifacts hold ``twin/`` (the CLI path)."""
        name = names.model_name(name)
        run_id = names.run_id(run_id)
        registrant = names.registrant(registrant)
        with translated(f"run {run_id}"):
            run = self._client.get_run(run_id)
        source = f"{str(run.info.artifact_uri).rstrip('/')}/{layout.ARTIFACT_PATH}"
        with self._local_copy(source) as directory:
            files = layout.read_twin(directory)
            digest = artifact_digest(directory)
        return self._create_version(
            name,
            run_id,
            registrant,
            files.card,
            digest,
            files.evaluation_digest,
            files.environment,
        )

    def _create_version(
        self,
        name: str,
        run_id: str,
        registrant: str,
        card: TwinCard,
        digest: str,
        evaluation_digest: str,
        environment: dict[str, str],
    ) -> RegisteredVersion:
        with translated(f"registering {name}"):
            run = self._client.get_run(run_id)
            source = f"{str(run.info.artifact_uri).rstrip('/')}/{layout.ARTIFACT_PATH}"
            self._ensure_registered_model(name)
            created = self._client.create_model_version(
                name,
                source=source,
                run_id=run_id,
                tags={
                    TAG_KIND: card.kind.value,
                    TAG_REGISTRANT: registrant,
                    TAG_ARTIFACT_SHA256: digest,
                    TAG_EVALUATION_DIGEST: evaluation_digest,
                },
                description=card.description,
            )
        return RegisteredVersion(
            name=name,
            version=str(created.version),
            run_id=run_id,
            kind=card.kind,
            card=card,
            artifact_sha256=digest,
            evaluation_digest=evaluation_digest,
            environment=dict(environment),
        )

    def _ensure_registered_model(self, name: str) -> None:
        try:
            self._client.create_registered_model(name)
        except Exception as exc:
            if not already_exists(exc):
                raise

    def _experiment(self) -> str:
        if self._experiment_id is not None:
            return self._experiment_id
        with translated("opening the twinreg experiment"):
            experiment = self._client.get_experiment_by_name(EXPERIMENT_NAME)
            if experiment is None:
                try:
                    experiment_id = str(
                        self._client.create_experiment(
                            EXPERIMENT_NAME, artifact_location=self.artifact_root
                        )
                    )
                except Exception as exc:
                    if not already_exists(exc):
                        raise
                    existing = self._client.get_experiment_by_name(EXPERIMENT_NAME)
                    if existing is None:
                        raise
                    experiment_id = str(existing.experiment_id)
            else:
                experiment_id = str(experiment.experiment_id)
        self._experiment_id = experiment_id
        return experiment_id

    # ------------------------------------------------------------------ loading

    def load(self, name: str, version: str, expected_sha256: str) -> LoadedTwin:
        """Load a version after checking its artifacts against ``expected_sha256``.

        ``expected_sha256`` is the digest governance recorded at registration. A cached
        version is returned without touching the files again (versions are immutable), but
        the expected digest must still equal the one verified when it was loaded.
        """
        name = names.model_name(name)
        version = names.version(version)
        expected_sha256 = names.sha256(expected_sha256)
        cached = self._cache.get((name, version))
        if cached is not None:
            _check_digest(name, version, expected_sha256, cached.artifact_sha256)
            return cached
        with translated(f"{name} version {version}"):
            model_version = self._client.get_model_version(name, version)
        source = str(model_version.source)
        tags: dict[str, Any] = dict(model_version.tags or {})
        with self._local_copy(source) as directory:
            actual = artifact_digest(directory)
            _check_digest(name, version, expected_sha256, actual)
            files = layout.read_twin(directory)
        if tags.get(TAG_KIND) not in (None, files.card.kind.value):
            raise ArtifactInvalid(f"{name} version {version}: kind tag disagrees with its card")
        current = build_environment()
        twin = LoadedTwin(
            name=name,
            version=version,
            kind=files.card.kind,
            card=files.card,
            model=files.model,
            evaluation=files.evaluation,
            environment=files.environment,
            environment_warnings=tuple(environment_differences(files.environment, current)),
            artifact_sha256=actual,
            background=files.background,
            background_sha256=files.background_digest,
            uncertainty=files.uncertainty,
        )
        return self._cache.put((name, version), twin)

    def evict(self, name: str, version: str) -> bool:
        """Drop one version from the cache (e.g. on suspension); True if it was cached."""
        return self._cache.evict((names.model_name(name), names.version(version)))

    def _local_copy(self, source: str) -> AbstractContextManager[Path]:
        return local_copy(source, self.tracking_uri)

    # ------------------------------------------------------------------ aliases, listing

    def set_approved_alias(self, name: str, version: str | None) -> None:
        """Mirror governance: point ``approved`` at ``version``, or delete it for None."""
        name = names.model_name(name)
        if version is None:
            if self.approved_alias(name) is None:
                return
            with translated(f"deleting the approved alias of {name}"):
                self._client.delete_registered_model_alias(name, APPROVED_ALIAS)
            return
        version = names.version(version)
        with translated(f"{name} version {version}"):
            self._client.get_model_version(name, version)
            self._client.set_registered_model_alias(name, APPROVED_ALIAS, version)

    def approved_alias(self, name: str) -> str | None:
        """The version the ``approved`` alias points at, or None."""
        name = names.model_name(name)
        with translated(f"model {name}"):
            registered = self._client.get_registered_model(name)
        aliases: dict[str, Any] = dict(getattr(registered, "aliases", None) or {})
        value = aliases.get(APPROVED_ALIAS)
        return None if value is None else str(value)

    def list_models(self) -> list[str]:
        """Names of all registered models, sorted."""
        found: list[str] = []
        with translated("listing models"):
            token: str | None = None
            while True:
                page = self._client.search_registered_models(max_results=1000, page_token=token)
                found.extend(str(m.name) for m in page)
                token = page.token
                if not token:
                    break
        return sorted(found)

    def list_versions(self, name: str) -> list[str]:
        """Versions of one model, oldest first."""
        name = names.model_name(name)
        with translated(f"model {name}"):
            self._client.get_registered_model(name)
            versions = self._client.search_model_versions(f"name = '{name}'")
        return sorted((str(v.version) for v in versions), key=int)

    def describe(self, name: str, version: str) -> RegisteredVersion:
        """Registration facts of one version from its tags and card (no model load)."""
        name = names.model_name(name)
        version = names.version(version)
        with translated(f"{name} version {version}"):
            model_version = self._client.get_model_version(name, version)
        tags: dict[str, Any] = dict(model_version.tags or {})
        with self._local_copy(str(model_version.source)) as directory:
            card = layout.read_card(directory)
            environment = layout.read_environment(directory)
        return RegisteredVersion(
            name=name,
            version=version,
            run_id=str(model_version.run_id),
            kind=card.kind,
            card=card,
            artifact_sha256=str(tags.get(TAG_ARTIFACT_SHA256, "")),
            evaluation_digest=str(tags.get(TAG_EVALUATION_DIGEST, "")),
            environment=environment,
        )

    def open(self) -> None:
        """Open the tracking store now, creating (and migrating) it when new, with the
        twins' experiment and, for a local artifact root, its folder; otherwise the store
        opens on first use."""
        self._experiment()
        where = urlparse(self.artifact_root)
        if where.scheme in ("", "file"):
            with translated("creating the artifact root"):
                Path(url2pathname(where.path)).mkdir(parents=True, exist_ok=True)

    def ping(self) -> None:
        """Raise :class:`RegistryUnavailable` unless the tracking store answers."""
        with translated("pinging the tracking store"):
            self._client.search_experiments(max_results=1)


def _check_digest(name: str, version: str, expected: str, actual: str) -> None:
    if not hmac.compare_digest(expected, actual):
        raise ArtifactTampered(
            f"{name} version {version}: artifact digest does not match the registered one",
            expected=expected,
            actual=actual,
        )
