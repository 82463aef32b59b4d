"""Content digests of a twin's artifact directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

from registry.errors import ArtifactInvalid


def artifact_files(directory: Path) -> list[tuple[str, Path]]:
    """Regular files under ``directory`` as (relative POSIX path, path), sorted by the former.

    Symbolic links are refused: a digest must describe bytes that live in the directory.
    """
    if not directory.is_dir():
        raise ArtifactInvalid(f"artifact directory {directory.name!r} does not exist")
    files: list[tuple[str, Path]] = []
    for path in directory.rglob("*"):
        if path.is_symlink():
            raise ArtifactInvalid(f"artifact holds a symbolic link: {path.name!r}")
        if path.is_file():
            files.append((path.relative_to(directory).as_posix(), path))
    files.sort(key=lambda item: item[0])
    return files


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def artifact_digest(directory: Path) -> str:
    """SHA-256 over the sorted relative paths and contents of every file in ``directory``.

    Each file contributes ``path NUL length NUL content``, so renaming, moving, adding,
    removing or editing any file changes the digest; the result does not depend on the
    file system's listing order or on timestamps.
    """
    digest = hashlib.sha256()
    for relative, path in artifact_files(directory):
        content = path.read_bytes()
        digest.update(relative.encode("utf-8") + b"\0" + str(len(content)).encode() + b"\0")
        digest.update(content)
    return digest.hexdigest()
