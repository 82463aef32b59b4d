"""The CDS Hooks settings: the public base URL (a JWT's aud base), the issuers file and the
per-issuer rate limit, read in the one settings object."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.composition.settings import Settings
from api.errors import ConfigError


def test_defaults_and_values(tmp_path: Path) -> None:
    default = Settings.load(tmp_path, environ={})
    assert default.public_base_url is None
    assert default.cds_issuers_file == tmp_path.resolve() / "cds-issuers.toml"
    assert default.cds_rate_limit_per_minute == 600
    env = {
        "TWINREG_PUBLIC_BASE_URL": "https://twinreg.example.org/prefix/",
        "TWINREG_CDS_ISSUERS": str(tmp_path / "ehrs.toml"),
        "TWINREG_CDS_RATE_LIMIT": "30",
    }
    chosen = Settings.load(tmp_path, environ=env)
    assert chosen.public_base_url == "https://twinreg.example.org/prefix"
    assert chosen.cds_issuers_file == (tmp_path / "ehrs.toml").resolve()
    assert chosen.cds_rate_limit_per_minute == 30


@pytest.mark.parametrize(
    "url", ["ftp://x", "twinreg.example.org", "https://x/?a=1", "https://x/#f"]
)
def test_a_base_url_that_cannot_be_an_audience_refuses_to_start(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="TWINREG_PUBLIC_BASE_URL"):
        Settings.load(tmp_path, environ={"TWINREG_PUBLIC_BASE_URL": url})
