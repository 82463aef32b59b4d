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
    """200 with every scenario when all were released; else 403 with the first reasons
    and each scenario's decision and audit id (nothing of a withheld scenario leaks)."""
    withheld = [(name, d) for name, d in results if not d.released]
    if withheld:
        _, first = withheld[0]
        return Response(
            {
                "decision": "withheld",
                "audit_id": first.audit_id,
                "reasons": first.reasons,
                "scenarios": [
                    {
                        "name": name,
                        "decision": "released" if d.released else "withheld",
                        "audit_id": d.audit_id,
                    }
                    for name, d in results
                ],
            },
            status_code=403,
        )
    first = results[0][1]
    scenarios = []
    for name, d in results:
        assert d.computation is not None
        scenarios.append(
            {
                "name": name,
                "audit_id": d.audit_id,
                "prediction": d.computation.prediction,
                "explanation": d.computation.explanation,
                "warnings": list(d.warnings),
            }
        )
    return Response(
        {
            "decision": "released",
            "model": first.model,
            "model_version": first.model_version,
            "scenarios": scenarios,
        },
        status_code=200,
    )
