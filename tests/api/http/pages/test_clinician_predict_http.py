"""The prediction pages as a clinician uses them, through the real app: the form in words
with units and validated ranges, the result as a decision card, "another prediction" with
the values kept, and the override's three choices with none chosen for the clinician."""

from __future__ import annotations

import html
import re

from models.demo_twins import DemoTwin
from tests.api.helpers import features_of, twin_named
from tests.api.http.pages.clinician import consented, csrf, predict_form, sign_in_clinician
from tests.conftest import Api

M = "whas500-mortality"
COX = "gbsg2-recurrence"
LOGIT = "whas500-mortality-logit"
FOREST = "diabetes-progression"
VANCO = "vancomycin-auc"


def _post(api: Api, form: dict[str, str], path: str = "/ui/predict") -> str:
    response = api.client.post(path, data={**form, "_csrf_token": csrf(api, "/ui/predict")})
    text: str = html.unescape(response.text)
    return f"{response.status_code}\n{text}"


def _value(page: str) -> str:
    match = re.search(r'data-testid="value">([^<]+)<', page)
    assert match, page[:2000]
    return match.group(1)


def test_the_form_offers_choices_words_units_and_validated_ranges(api: Api) -> None:
    sign_in_clinician(api)
    page = html.unescape(api.client.get(f"/ui/predict?model={M}").text)
    assert 'type="radio" id="f_gender_0" name="f_gender" value="0"' in page
    assert "> female</label>" in page  # the card's own words for gender's codes
    assert "> yes</label>" in page  # atrial fibrillation: a yes/no feature
    assert 'Initial systolic blood pressure</span> <span class="unit">(mmHg)' in page
    assert re.search(r'data-testid="range-sysbp">validated: [\d.]+\u2013[\d.]+ mmHg<', page)
    assert re.search(r'id="f_sysbp" name="f_sysbp" type="number"[^>]*\smin="[\d.]+"', page)
    rule = re.search(r'data-testid="envelope-rule">([^<]+)<', page)
    assert rule and "for treatment the result is withheld" in rule.group(1)
    assert "released with a warning" in rule.group(1)


def test_a_classifier_result_is_a_decision_card(api: Api, demo_twins: list[DemoTwin]) -> None:
    twin = twin_named(demo_twins, M)
    consented(api.service, "card-1", twin)
    sign_in_clinician(api)
    page = _post(api, predict_form(twin, "card-1", features_of(twin)))
    assert page.startswith("200"), page[:3000]
    assert (
        'data-testid="headline">Probability of death from any cause during follow-up '
        "(up to 6.5 years) after an acute MI<" in page
    )
    assert re.fullmatch(r"\d+(\.\d)?%", _value(page))
    assert "operating threshold of 50.0%" in page
    assert 'data-testid="envelope" class="ok">Within the validated population<' in page
    assert 'data-testid="patient">Patient <b>card-1</b> · purpose treatment<' in page
    row = re.search(r'data-testid="contribution-sysbp">(.*?)</tr>', page)
    assert row and " mmHg</td>" in row.group(1) and " points</td>" in row.group(1)
    assert "<summary>The attribution in log odds space" in page
    # the range is the version's own refits' for this patient, in the card's words
    assert twin.uncertainty is not None
    row = [features_of(twin)[n] for n in twin.card.feature_names]
    expected = twin.uncertainty.range_for(row, 0.0)
    shown = _uncertainty(page)
    assert shown.startswith(f"90% range {_pct(expected.low)}\u2013{_pct(expected.high)}: ")
    assert "had it been fitted on another sample" in shown and "50 refits on bootstrap" in shown
    low, high = _ends(shown)
    assert low <= float(_value(page).rstrip("%")) <= high


def _uncertainty(page: str) -> str:
    match = re.search(r'data-testid="uncertainty">([^<]+)<', page)
    assert match, page[:2000]
    return match.group(1)


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def _ends(shown: str) -> tuple[float, float]:
    match = re.match(r"90% range ([\d.]+)%?[^\u2013]*\u2013([\d.]+)", shown)
    assert match, shown
    return float(match.group(1)), float(match.group(2))


def test_the_logistic_and_forest_twins_give_their_own_ranges(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    logit, forest = twin_named(demo_twins, LOGIT), twin_named(demo_twins, FOREST)
    consented(api.service, "card-6", logit)
    consented(api.service, "card-7", forest)
    sign_in_clinician(api)
    page = _post(api, predict_form(logit, "card-6", features_of(logit)))
    assert page.startswith("200"), page[:3000]
    shown = _uncertainty(page)
    assert "covariance over the" in shown and "by the delta method" in shown
    low, high = _ends(shown)
    assert low < float(_value(page).rstrip("%")) < high
    page = _post(api, predict_form(forest, "card-7", features_of(forest)))
    assert page.startswith("200"), page[:3000]
    shown = _uncertainty(page)
    assert "where the outcomes of patients like this one fell" in shown
    assert "split-conformal on the out-of-bag residuals" in shown
    low, high = _ends(shown)
    value = float(_value(page).split()[0])
    assert forest.uncertainty is not None
    half = forest.uncertainty.to_dict()["half_width"]
    assert abs(high - value - half) < 0.01 * half and max(0, value - half) - 0.01 <= low < value


def test_the_cox_twin_says_its_survival_at_the_horizon(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, COX)
    consented(api.service, "card-2", twin)
    sign_in_clinician(api)
    page = _post(api, predict_form(twin, "card-2", features_of(twin)))
    assert page.startswith("200"), page[:3000]
    assert "Probability of recurrence or death within 5 years" in page
    assert ", by 1826 days (5.0 years)<" in page
    survival = re.search(
        r"Event-free survival at 1826 days \(5.0 years\)</dt><dd[^>]*>([\d.]+)%", page
    )
    assert survival, page[:4000]
    assert abs(float(survival.group(1)) + float(_value(page).rstrip("%")) - 100) < 0.11
    assert "times the reference patient's" in page
    shown = _uncertainty(page)  # a range of the event by the horizon, as the headline
    assert "200 refits on bootstrap resamples" in shown and "baseline survival" in shown
    low, high = _ends(shown)
    assert low < float(_value(page).rstrip("%")) < high


def test_a_mechanistic_result_is_judged_against_its_target(
    api: Api, mechanistic_twins: list[DemoTwin]
) -> None:
    twin = twin_named(mechanistic_twins, VANCO)
    consented(api.service, "card-3", twin)
    sign_in_clinician(api)
    row = {"creatinine_clearance": 60.0, "weight": 80.0, "dose_mg": 1750.0, "interval_h": 12.0}
    page = _post(api, predict_form(twin, "card-3", row))
    assert page.startswith("200"), page[:3000]
    value = _value(page)
    assert value.endswith(" mg·h/L") and float(value.split()[0]) > 600
    assert 'data-testid="verdict">above the 400\u2013600 mg·h/L target range<' in page
    assert 'data-testid="trajectory"' in page
    assert re.search(r'data-testid="contribution-dose_mg">.*?1750 mg</td>', page)
    assert _uncertainty(page).startswith("none given: the twin is run once at the values")


def test_outside_the_validated_population_treatment_is_withheld_research_flagged(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, M)
    consented(api.service, "card-4", twin, ("treatment", "research"))
    sign_in_clinician(api)
    features = {**features_of(twin), "age": twin.card.envelope["age"][1] + 10}
    withheld = _post(api, predict_form(twin, "card-4", features))
    assert withheld.startswith("403") and "outside the validated population envelope" in withheld
    released = _post(api, predict_form(twin, "card-4", features, purpose="research"))
    assert released.startswith("200")
    assert 'data-testid="envelope" class="bad">Outside the validated population: ' in released
    assert re.search(r'data-testid="contribution-age">.*?<td class="bad">', released)


def test_another_prediction_keeps_the_values_in_the_session_only(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, M)
    consented(api.service, "card-5", twin)
    sign_in_clinician(api)
    form = predict_form(twin, "card-5", features_of(twin))
    result = _post(api, form)
    again_form = re.search(r'<form[^>]*action="/ui/predict/again".*?</form>', result, re.S)
    assert again_form and 'name="_csrf_token"' in again_form.group(0)
    assert 'name="f_sysbp" value="{}"'.format(form["f_sysbp"]) in result
    again = _post(api, form, "/ui/predict/again")
    assert again.startswith("200")
    assert 'value="card-5"' in again
    assert f'value="{form["f_sysbp"]}"' in again
    assert (
        'id="f_gender_{}" name="f_gender" value="{}" checked'.format(
            form["f_gender"], form["f_gender"]
        )
        in again
    )
    api.client.cookies.clear()
    response = api.client.post("/ui/predict/again", data=form, follow_redirects=False)
    assert response.status_code in (303, 403)  # no session: sign-in (or CSRF), never the values
    assert "card-5" not in response.text


def test_the_override_offers_three_choices_none_chosen_and_records_accepted(
    api: Api, demo_twins: list[DemoTwin]
) -> None:
    twin = twin_named(demo_twins, M)
    consented(api.service, "card-6", twin)
    sign_in_clinician(api)
    page = _post(api, predict_form(twin, "card-6", features_of(twin)))
    radios = re.findall(r'<input type="radio" name="action" id="action-(\w+)"[^>]*>', page)
    assert radios == ["accepted", "disregarded", "overridden"]
    assert "checked" not in "".join(re.findall(r'<input type="radio" name="action"[^>]*>', page))
    audit_id = re.search(r'data-testid="audit-id">([^<]+)<', page)
    assert audit_id
    response = api.client.post(
        f"/ui/predictions/{audit_id.group(1)}/override",
        data={"action": "accepted", "reason": "", "_csrf_token": csrf(api, "/ui/predict")},
    )
    assert response.status_code == 200, response.text[:1000]
    assert "Recorded: accepted" in response.text
    recorded = api.service.overrides.for_decision(audit_id.group(1))
    assert [o.action for o in recorded] == ["accepted"]
