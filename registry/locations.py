"""Where a twin's artifacts live: the default artifact root and a local copy of a source."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from registry._mlflow import translated
from registry.errors import ArtifactInvalid


def default_artifact_root(tracking_uri: str) -> str | None:
    """``mlartifacts/`` beside a SQLite tracking database; None for any other store."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    if str(database) in ("", ":memory:"):
        return None
    return (database.resolve().parent / "mlartifacts").as_uri()


@contextmanager
def local_copy(source: str, tracking_uri: str) -> Iterator[Path]:
    """The artifact directory on local disk: resolved for ``file:`` URIs, else fetched."""
    parsed = urlparse(source)
    if parsed.scheme in ("file", ""):
        directory = Path(url2pathname(parsed.path))
        if not directory.is_dir():
            raise ArtifactInvalid("the version's artifact directory is missing")
        yield directory
        return
    from mlflow.artifacts import download_artifacts

    with tempfile.TemporaryDirectory(prefix="twinreg-dl-") as tmp:
        with translated("downloading artifacts"):
            local = download_artifacts(artifact_uri=source, dst_path=tmp, tracking_uri=tracking_uri)
        yield Path(local)
