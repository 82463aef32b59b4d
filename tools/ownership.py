"""Two installed distributions must not write one Python package.

When two distributions install the same package (the old ``casbin`` distribution and
``pycasbin`` both write ``casbin/``), the second overwrites the first one's files: install
order decides which code runs, and uninstalling either deletes files the other needs.
``pip check`` compares version requirements only and does not see it; this check reads
every distribution's ``RECORD`` (the files it installed, with their hashes).

- A *unit* is a top-level package folder (``casbin/``) or a top-level file (``six.py``,
  ``_cffi_backend.so``, ``x.pth``). Two owners of a unit is a conflict, except:
- a folder in which none of its owners writes an ``__init__.py`` is a namespace package
  (PEP 420), shared by design (``google/``): the units are then its entries, one level
  down, and so on;
- one release split into distributions, declared by its own metadata: the owners of a unit
  are accepted when one of them requires every other at exactly its installed version
  (``==``) and every file that two of them write has the same hash in both records
  (``mlflow`` requires ``mlflow-skinny==V`` and ``mlflow-tracing==V``, which carry
  byte-identical subsets of its ``mlflow/`` package).
- Paths outside the installation folder (``../../bin/pip``: scripts, data), the metadata
  folders (``*.dist-info``, ``*.egg-info``, ``*.data``) and ``__pycache__`` are not packages.
- A distribution whose record is missing is read from its ``top_level.txt``.

``python -m tools.ownership`` checks the running interpreter's environment: it prints each
conflict and exits 1, or prints how many distributions it read and exits 0.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.distributions import installed, name_of

#: A file as its distribution wrote it: path parts below the installation folder, hash.
Written = dict[tuple[str, ...], str | None]
_METADATA_SUFFIXES = (".dist-info", ".egg-info", ".data")


@dataclass(frozen=True)
class Conflict:
    unit: str
    owners: tuple[str, ...]  # "name version", sorted
    differing_files: int

    def __str__(self) -> str:
        differ = f"; {self.differing_files} files differ" if self.differing_files else ""
        return f"{self.unit}: written by {', '.join(self.owners)}{differ}"


def written_files(dist: metadata.Distribution) -> Written:
    """The package files ``dist`` installed, with their recorded hashes."""
    files = dist.files
    if files is None:  # no RECORD: its top-level names, without hashes
        top_level = dist.read_text("top_level.txt") or ""
        return {(name.strip(), "__init__.py"): None for name in top_level.split() if name}
    written: Written = {}
    for file in files:
        parts = tuple(file.parts)
        if not parts or parts[0] in ("..", "/") or "__pycache__" in parts:
            continue
        if parts[0].endswith(_METADATA_SUFFIXES):
            continue
        written[parts] = file.hash.value if file.hash else None
    return written


def _pinned(owner: metadata.Distribution, other: metadata.Distribution) -> bool:
    """Whether ``owner`` requires ``other`` at exactly its installed version."""
    for line in owner.requires or ():
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if canonicalize_name(req.name) != name_of(other):
            continue
        pins = [spec for spec in req.specifier if spec.operator in ("==", "===")]
        if pins and all(spec.version == other.version for spec in pins):
            return True
    return False


def _judge(
    unit: str, owners: Mapping[str, Written], dists: Mapping[str, metadata.Distribution]
) -> Conflict | None:
    by_path: dict[tuple[str, ...], set[str | None]] = defaultdict(set)
    shared: dict[tuple[str, ...], int] = defaultdict(int)
    for files in owners.values():
        for path, digest in files.items():
            by_path[path].add(digest)
            shared[path] += 1
    differing = sum(  # files whose recorded hashes disagree (unrecorded ones are unknown)
        1 for path, digests in by_path.items() if shared[path] > 1 and len(digests - {None}) > 1
    )
    unhashed = any(None in by_path[path] for path, count in shared.items() if count > 1)
    names = sorted(owners)
    split_release = any(
        all(_pinned(dists[head], dists[other]) for other in names if other != head)
        for head in names
    )
    if split_release and differing == 0 and not unhashed:
        return None
    return Conflict(
        unit=unit,
        owners=tuple(f"{name} {dists[name].version}" for name in names),
        differing_files=differing,
    )


def _units(
    prefix: tuple[str, ...],
    owners: Mapping[str, Written],
    dists: Mapping[str, metadata.Distribution],
) -> list[Conflict]:
    """The conflicts among the files below ``prefix`` (paths here are relative to it)."""
    grouped: dict[str, dict[str, Written]] = defaultdict(lambda: defaultdict(dict))
    for name, files in owners.items():
        for path, digest in files.items():
            grouped[path[0]][name][path[1:]] = digest
    conflicts: list[Conflict] = []
    for entry, below in sorted(grouped.items()):
        if len(below) < 2:
            continue
        unit = "/".join((*prefix, entry))
        is_folder = any(path for files in below.values() for path in files)
        is_namespace = is_folder and not any(("__init__.py",) in files for files in below.values())
        if is_namespace:
            deeper = {name: {p: d for p, d in files.items() if p} for name, files in below.items()}
            conflicts.extend(_units((*prefix, entry), deeper, dists))
            continue
        conflict = _judge(unit + ("/" if is_folder else ""), below, dists)
        if conflict is not None:
            conflicts.append(conflict)
    return conflicts


def conflicts(dists: Mapping[str, metadata.Distribution] | None = None) -> list[Conflict]:
    """Every unit two of ``dists`` (default: :func:`~tools.distributions.installed`) write,
    except namespace packages and split releases (see the module's description)."""
    chosen = installed() if dists is None else dists
    owners = {name: written_files(dist) for name, dist in chosen.items()}
    return _units((), {n: f for n, f in owners.items() if f}, chosen)


def main(argv: Iterable[str] = ()) -> int:
    del argv
    dists = installed()
    found = conflicts(dists)
    for conflict in found:
        print(f"two distributions write one package: {conflict}", file=sys.stderr)
    if found:
        print(
            "uninstall the distribution that should not be there, then reinstall the other "
            "(pip install --force-reinstall --no-deps NAME) to restore its files",
            file=sys.stderr,
        )
        return 1
    print(f"{len(dists)} distributions, no package written by two of them")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
