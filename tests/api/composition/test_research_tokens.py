"""A researcher's token may carry a site (to draw cohorts of that site's patients) or
none; a clinician's must; no other role's may."""

from __future__ import annotations

import os

import pytest

from api.composition.tokens import issue_token, read_token
from api.errors import Unauthorized

KEY = os.urandom(32)
ROLES = frozenset({"clinician", "researcher", "validator"})


def test_a_researchers_site_is_optional_and_no_other_roles() -> None:
    assert read_token(KEY, issue_token(KEY, "rita", "researcher", "st-mary", 60), ROLES).site == (
        "st-mary"
    )
    assert read_token(KEY, issue_token(KEY, "rita", "researcher", None, 60), ROLES).site is None
    with pytest.raises(Unauthorized, match="only clinicians"):
        read_token(KEY, issue_token(KEY, "vic", "validator", "st-mary", 60), ROLES)
    with pytest.raises(Unauthorized, match="must carry a site"):
        read_token(KEY, issue_token(KEY, "carla", "clinician", None, 60), ROLES)
