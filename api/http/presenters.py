"""Domain results -> response bodies."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response
from litestar.enums import MediaType
from litestar.response.base import ASGIResponse

from api.http.schemas import Explanation, PredictionOut, Reason, WithheldOut
from governance.release.decision import ReleaseDecision


def decision_response(decision: ReleaseDecision) -> ASGIResponse:
    """200 with the released prediction, or 403 with the reasons it was withheld.

    Encoded here, once, into the response the server sends (a prediction's response has
    no cookies, no extra headers and no other encoders to merge in).
    """
    body: PredictionOut | WithheldOut
    if decision.released and decision.computation is not None:
        assert decision.model_version is not None
        e = decision.computation.explanation
        body = PredictionOut(
            decision="released",
            audit_id=decision.audit_id,
            model=decision.model,
            model_version=decision.model_version,
            prediction=decision.computation.prediction,
            explanation=Explanation(
                output_space=e["output_space"],
                base_value=e["base_value"],
                output_value=e["output_value"],
                contributions=e["contributions"],
                plot_svg=e.get("plot_svg"),
            ),
            warnings=list(decision.warnings),
        )
        return _json(body, 200)
    reasons = [Reason(check=r["check"], detail=r["detail"]) for r in decision.reasons]
    body = WithheldOut(decision="withheld", audit_id=decision.audit_id, reasons=reasons)
    return _json(body, 403)


def _json(body: msgspec.Struct, status: int) -> ASGIResponse:
    body_bytes = msgspec.json.encode(body)
    return ASGIResponse(body=body_bytes, status_code=status, media_type=MediaType.JSON)


def simulation_response(
    results: list[tuple[str, ReleaseDecision]],
) -> Response[dict[str, Any]]:
    """Every scenario with its own decision: a released one with its results, a withheld
    one with its reasons (nothing of its result). 200 when at least one scenario was
    released (``decision``: ``released``, or ``partially_released`` when some were
    withheld); 403 when none was, with the first withheld scenario's reasons on top. Every
    release the audit log records is in the response."""
    scenarios = [_scenario(name, d) for name, d in results]
    released = [d for _, d in results if d.released]
    if not released:
        first = results[0][1]
        return Response(
            {
                "decision": "withheld",
                "audit_id": first.audit_id,
                "reasons": first.reasons,
                "scenarios": scenarios,
            },
            status_code=403,
        )
    return Response(
        {
            "decision": "released" if len(released) == len(results) else "partially_released",
            "model": released[0].model,
            "model_version": released[0].model_version,
            "scenarios": scenarios,
        },
        status_code=200,
    )


def _scenario(name: str, decision: ReleaseDecision) -> dict[str, Any]:
    if decision.released and decision.computation is not None:
        return {
            "name": name,
            "decision": "released",
            "audit_id": decision.audit_id,
            "prediction": decision.computation.prediction,
            "explanation": decision.computation.explanation,
            "warnings": list(decision.warnings),
        }
    return {
        "name": name,
        "decision": "withheld",
        "audit_id": decision.audit_id,
        "reasons": decision.reasons,
    }
