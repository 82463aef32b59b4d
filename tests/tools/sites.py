"""Made-up installation folders: distributions as pip leaves them (METADATA, RECORD)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path


def _digest(content: str) -> str:
    raw = hashlib.sha256(content.encode()).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_distribution(
    site: Path,
    name: str,
    version: str,
    files: dict[str, str],
    requires: tuple[str, ...] = (),
    record: bool = True,
    top_level: str | None = None,
    fields: tuple[str, ...] = (),
    licence_file: str | None = None,
) -> None:
    """A distribution as pip leaves it: ``files`` (path -> content) and its metadata."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {req}" for req in requires]
    lines += list(fields)
    if licence_file is not None:
        lines.append("License-File: LICENSE")
        (info / "licenses").mkdir()
        (info / "licenses" / "LICENSE").write_text(licence_file)
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level)
    rows = []
    for path, content in files.items():  # "../../../bin/x": a script beside the site
        target = (site / path).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        rows.append(f"{path},{_digest(content)},{len(content)}")
    rows += [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    if record:
        (info / "RECORD").write_text("\n".join(rows) + "\n")
