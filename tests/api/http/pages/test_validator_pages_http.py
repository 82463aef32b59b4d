"""The validator's version page through the real app: change control side by side, the
bias audit's groups by label beside their thresholds, and Approve offered only with its
preconditions met (otherwise the page says what is missing, and the approval is refused
and audited all the same)."""

from __future__ import annotations

import re

import pandas as pd

from api.cli.demo import DATA_SCIENTIST, VALIDATOR
from models.demo_twins import DemoTwin
from tests.api.helpers import twin_named
from tests.api.http.pages.test_pages_http import _csrf, _sign_in
from tests.conftest import Api

LOGIT = "whas500-mortality-logit"
#: A float printed with its full repr: eight or more digits after the point.
LONG_FLOAT = re.compile(r"\d\.\d{8,}")


def _register(api: Api, twin: DemoTwin) -> str:
    background = pd.DataFrame(twin.background, columns=list(twin.card.feature_names))
    return api.service.register_version(
        DATA_SCIENTIST, twin.name, twin.card.kind, twin.model, twin.card, twin.evaluation,
        background,
    ).version  # fmt: skip


def _visible(html: str) -> str:
    """The page without its embedded chart images (base64 data)."""
    return re.sub(r'src="data:[^"]*"', 'src=""', html)


def test_a_candidate_is_compared_with_the_approved_version_side_by_side(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    version = _register(api, twin_named(demo_twins, LOGIT))
    api.service.run_bias_audit(VALIDATOR, LOGIT, version)
    api.service.run_dossier(VALIDATOR, LOGIT, version)
    _sign_in(api, api.token("vera", "validator"))
    page = _visible(api.client.get(f"/ui/models/{LOGIT}/versions/{version}").text)
    table = page[page.index('data-testid="change-control-table"') :]
    table = table[: table.index("</table>")]
    assert "<th>Approved v1</th>" in table and f"<th>Candidate v{version}</th>" in table
    rows = re.findall(r"<tr[^>]*><td>(.*?)<br>", table)
    assert rows == ["AUC", "Brier score"]  # the judged headline metric first
    assert "non-inferior: lower bound of the paired difference" in table
    assert "[0.7" in table or "[0.8" in table  # estimates with their intervals
    assert 'data-testid="card-changes"' in page and "The card is unchanged" in page
    assert not LONG_FLOAT.findall(page), LONG_FLOAT.findall(page)[:5]
    # every precondition met: the Approve form is offered
    assert page.count('<li class="met"') == 4
    assert 'data-testid="action-approve"' in page and "approve-missing" not in page


def test_the_bias_audit_names_its_groups_and_puts_each_gap_beside_its_threshold(
    api: Api,
) -> None:
    _sign_in(api, api.token("vera", "validator"))
    page = api.client.get(f"/ui/models/{LOGIT}/versions/1").text
    assert 'data-testid="group-gender-0">male (0)<' in page
    assert 'data-testid="group-gender-1">female (1)<' in page
    gaps = page[page.index('data-testid="gaps-gender"') :]
    gaps = gaps[: gaps.index("</table>")]
    assert "TPR (sensitivity): largest - smallest" in gaps
    assert '≤ 0.150 <span class="meta">(max_tpr_gap)' in gaps
    assert '≤ 0.150 <span class="meta">(max_fpr_gap)' in gaps
    assert "each ≥ 0.700" in page  # the per-group AUC floor in its column's header
    mechanistic = api.client.get("/ui/models/vancomycin-auc/versions/1").text
    assert ">65 years and over (2)<" in mechanistic and ">female (1)<" in mechanistic
    assert 'data-testid="verification-checks"' in mechanistic
    assert not LONG_FLOAT.findall(_visible(mechanistic))


def test_approve_is_not_offered_while_a_precondition_is_missing(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    name = "diabetes-progression"
    version = _register(api, twin_named(demo_twins, name))
    _sign_in(api, api.token("vera", "validator"))
    path = f"/ui/models/{name}/versions/{version}"
    page = api.client.get(path).text
    assert "3 of 4 preconditions missing" in page
    for missing in ("status", "bias_audit", "dossier"):
        assert f'<li class="missing" data-testid="precondition-{missing}">' in page
    assert '<li class="met" data-testid="precondition-four_eyes">' in page
    assert 'data-testid="approve-missing"' in page
    assert 'data-testid="action-approve"' not in page
    assert "no passing bias audit on file for this version" in page
    assert 'href="#action-bias_audit">run the bias audit' in page
    # the form sent anyway is refused, audited, and changes nothing
    before = len(api.service.audit.records(action="request.refused", limit=1000))
    response = api.client.post(
        path + "/actions",
        data={"action": "approve", "comment": "forced", "_csrf_token": _csrf(api, path)},
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    assert "only a validated version" in response.text
    assert len(api.service.audit.records(action="request.refused", limit=1000)) == before + 1
    assert api.service.lifecycle.version(name, version).status == "registered"


def test_the_registrant_sees_the_four_eyes_rule_as_the_missing_precondition(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    version = _register(api, twin_named(demo_twins, LOGIT))
    api.service.run_bias_audit(VALIDATOR, LOGIT, version)
    api.service.run_dossier(VALIDATOR, LOGIT, version)
    _sign_in(api, api.token(DATA_SCIENTIST.user, "validator"))
    page = api.client.get(f"/ui/models/{LOGIT}/versions/{version}").text
    assert '<li class="missing" data-testid="precondition-four_eyes">' in page
    assert "another validator must approve it" in page
    assert 'data-testid="action-approve"' not in page
