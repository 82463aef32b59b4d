"""The home folder: created on first use, with the secrets kept private to the owner."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass

from api.composition.settings import Settings
from api.errors import ConfigError


@dataclass(frozen=True)
class Secrets:
    token_key: bytes
    pseudonym_key: bytes


def ensure_home(settings: Settings) -> Secrets:
    """Create the home folder and its secrets if missing; return the secrets."""
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.secrets_file
    if not path.exists():
        data = {"token_key": secrets.token_hex(32), "pseudonym_key": secrets.token_hex(32)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
    try:
        data = json.loads(path.read_text())
        return Secrets(bytes.fromhex(data["token_key"]), bytes.fromhex(data["pseudonym_key"]))
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path} is unreadable or malformed: {exc}") from exc
