"""The installed distributions, and the ones twinreg depends on.

A *distribution* is what pip installs (``pycasbin 2.8.0``); it writes *packages*
(``casbin/``). :func:`installed` lists the distributions importable from a path, each once
(the first found, as ``importlib`` imports it); :func:`closure` follows requirements from
``pyproject.toml`` through the installed metadata, extras and environment markers
included.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent


def name_of(dist: metadata.Distribution) -> str:
    """The canonical (PEP 503) name of a distribution: ``casbin_sqlalchemy_adapter`` and
    ``Casbin-SQLAlchemy-Adapter`` are one name."""
    return str(canonicalize_name(dist.metadata["Name"] or ""))


def installed(path: Sequence[str] | None = None) -> dict[str, metadata.Distribution]:
    """Every distribution importable from ``path`` (default ``sys.path``), by canonical
    name; a distribution found in two places counts once, the first (the one imported)."""
    found: dict[str, metadata.Distribution] = {}
    dists = metadata.distributions() if path is None else metadata.distributions(path=list(path))
    for dist in dists:
        name = name_of(dist)
        if name and name not in found:
            found[name] = dist
    return found


def project_requirements(
    extras: Iterable[str] = (), pyproject: Path = REPO / "pyproject.toml"
) -> list[Requirement]:
    """twinreg's own requirements in ``pyproject.toml`` (not the installed copy's metadata,
    which an editable install of another checkout may hold), plus those of ``extras``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise KeyError(f"pyproject.toml has no extra {extra!r}")
        lines.extend(optional[extra])
    return [Requirement(line) for line in lines]


@dataclass(frozen=True)
class Closure:
    """The installed distributions reached from some requirements, and the requirements
    that no installed distribution satisfies by name."""

    distributions: dict[str, metadata.Distribution]
    missing: tuple[str, ...]


def _applies(marker: Marker | None, extras: frozenset[str]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate({"extra": extra}) for extra in extras | {""})


def closure(
    requirements: Iterable[Requirement], available: dict[str, metadata.Distribution]
) -> Closure:
    """The distributions ``requirements`` need, transitively, among ``available``
    (requirements whose marker does not hold here are left out, as pip leaves them)."""
    reached: dict[str, metadata.Distribution] = {}
    missing: list[str] = []
    extras_seen: dict[str, set[str]] = {}
    pending = [(req, frozenset[str]()) for req in requirements]
    while pending:
        req, parent_extras = pending.pop()
        if not _applies(req.marker, parent_extras):
            continue
        name = str(canonicalize_name(req.name))
        dist = available.get(name)
        if dist is None:
            missing.append(str(req))
            continue
        wanted = set(req.extras)
        seen = extras_seen.setdefault(name, set())
        if name in reached and wanted <= seen:
            continue
        reached[name] = dist
        seen |= wanted
        extras = frozenset(seen)
        pending.extend((Requirement(line), extras) for line in dist.requires or ())
    return Closure(dict(sorted(reached.items())), tuple(sorted(set(missing))))


def file_owners(dists: Mapping[str, metadata.Distribution]) -> dict[Path, str]:
    """Which of ``dists`` installed each file (absolute, resolved path -> name), from
    their RECORDs."""
    owners: dict[Path, str] = {}
    for name, dist in dists.items():
        for file in dist.files or ():
            owners[Path(str(dist.locate_file(file))).resolve()] = name
    return owners
