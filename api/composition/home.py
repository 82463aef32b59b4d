"""The home folder: created on first use, private to its owner, with the secrets in it.

twinreg keeps the token-signing and pseudonymisation keys (``secrets.json``), the audit
checkpoint signing key (``audit-signing-key.pem``, or ``TWINREG_AUDIT_KEY_FILE``), the
checkpoints, the SQLite databases and the local MLflow artifacts here. Nobody but the owner
may read any of it:

- a new home folder is created 0700, the artifact folder 0700;
- every file twinreg creates is created 0600: the secrets and the key (written whole to a
  private temporary file, then linked into place, so a concurrent reader never sees half
  a key), the checkpoints, and the SQLite databases, which are created empty with mode
  0600 before SQLite opens them (SQLite gives its ``-wal`` and ``-shm`` files the mode of
  the database file);
- an existing home, or anything twinreg keeps, that its group or others may access is
  **refused**: :class:`ConfigError` names it and the fix (``chmod -R go= <home>``). Fail
  closed: a key others could read may already have been copied, which only the operator
  can judge; twinreg does not quietly tighten the modes and carry on.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from api.composition.settings import Settings
from api.errors import ConfigError
from governance.audit.signing import CheckpointSigner
from governance.errors import InvalidInput

#: Permission bits of the group and others: none may be set on what twinreg keeps.
SHARED_BITS = 0o077
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Secrets:
    token_key: bytes
    pseudonym_key: bytes
    #: Signs the audit chain's checkpoints; its own file, never in the database.
    audit_signer: CheckpointSigner
    #: Wraps every patient's data key (patient twins); its own file or
    #: ``TWINREG_PATIENT_MASTER_KEY`` (64 hex digits), never in the database.
    patient_master_key: bytes


def ensure_home(settings: Settings) -> Secrets:
    """Create the home folder, its stores' files and its secrets if missing (private to
    the owner); refuse a home others may read; return the secrets."""
    home = settings.home
    if not home.exists():
        home.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(home, 0o700)  # mkdir's mode passes through the umask
    if not home.is_dir():
        raise ConfigError(f"the home {home} is not a folder")
    refuse_shared(kept_paths(settings), home)
    for database in sqlite_files(settings):
        create_private_file(database, b"")
    artifacts = local_artifact_root(settings.artifact_root)
    if artifacts is not None and not artifacts.exists():
        artifacts.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(artifacts, 0o700)
    path = settings.secrets_file
    if not path.exists():
        data = {"token_key": secrets.token_hex(32), "pseudonym_key": secrets.token_hex(32)}
        create_private_file(path, json.dumps(data).encode("ascii"))
    key_file = settings.audit_signing_key_file
    if not key_file.exists():
        create_private_file(key_file, CheckpointSigner.new_pem())
    try:
        data = json.loads(path.read_text())
        token_key, pseudonym_key = (
            bytes.fromhex(data["token_key"]),
            bytes.fromhex(data["pseudonym_key"]),
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path} is unreadable or malformed: {exc}") from exc
    try:
        signer = CheckpointSigner.from_pem(key_file.read_bytes())
    except (OSError, InvalidInput) as exc:
        raise ConfigError(f"the audit signing key {key_file} is unreadable: {exc}") from exc
    return Secrets(token_key, pseudonym_key, signer, _patient_master_key(settings))


def _patient_master_key(settings: Settings) -> bytes:
    """``TWINREG_PATIENT_MASTER_KEY`` when set, else ``<home>/patient-master-key`` (made
    on first use, private to the owner)."""
    given = os.environ.get("TWINREG_PATIENT_MASTER_KEY")
    path = settings.home / "patient-master-key"
    if not given and not path.exists():
        create_private_file(path, secrets.token_hex(32).encode("ascii"))
    try:
        key = bytes.fromhex(given or path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the patient master key is unreadable: {exc}") from exc
    if len(key) != 32:
        raise ConfigError("the patient master key must be 32 bytes (64 hex digits)")
    return key


def kept_paths(settings: Settings) -> list[Path]:
    """The home and every file or folder twinreg keeps (whether it exists yet or not)."""
    paths = [settings.home, settings.secrets_file, settings.audit_signing_key_file]
    paths.append(settings.checkpoints_file)
    paths.append(settings.home / "patient-master-key")
    for database in sqlite_files(settings):
        paths.append(database)
        paths.extend(database.with_name(database.name + s) for s in _SQLITE_SIDE_FILES)
    artifacts = local_artifact_root(settings.artifact_root)
    if artifacts is not None:
        paths.append(artifacts)
    return paths


def refuse_shared(paths: list[Path], home: Path) -> None:
    """Raise :class:`ConfigError` naming the first of ``paths`` that its group or others
    may access, and how to fix it."""
    for path in paths:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(f"{path} cannot be examined: {exc}") from exc
        if mode & SHARED_BITS:
            inside = path == home or home in path.parents
            fix = f"chmod -R go= {home}" if inside else f"chmod go= {path}"
            raise ConfigError(
                f"{path} is open to its group or others (mode {mode:04o}); twinreg keeps its "
                f"keys and governance data private to their owner: run `{fix}` (and judge "
                "who may have read them)"
            )


def create_private_file(path: Path, content: bytes) -> None:
    """Create ``path`` with ``content`` and mode 0600 unless it exists: written whole to
    a temporary file first and linked into place, so nobody ever reads it half written
    (when two processes race, the first link wins and both use its content)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process linked it first
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def sqlite_files(settings: Settings) -> list[Path]:
    """The SQLite database files of the governance and tracking stores (none for a server
    database)."""
    files = []
    for url in (settings.governance_url, settings.tracking_uri):
        try:
            parsed = make_url(url)
        except ArgumentError:
            continue
        database = parsed.database or ""
        plain_file = database not in ("", ":memory:") and not database.startswith("file:")
        if parsed.drivername.startswith("sqlite") and plain_file:
            files.append(Path(database).expanduser().resolve())
    return files


def local_artifact_root(artifact_root: str) -> Path | None:
    """The artifact root as a local folder; None for a remote store (s3://, ...)."""
    where = urlparse(artifact_root)
    if where.scheme == "file":
        return Path(url2pathname(where.path)).resolve()
    if where.scheme == "" or len(where.scheme) == 1:  # a plain path (or a drive letter)
        return Path(artifact_root).expanduser().resolve()
    return None
