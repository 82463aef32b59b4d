"""HTTP controllers: path, guards and dependencies as class attributes; one-line handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.routes import HTTPRoute


def allow_every_method(request: Request[Any, Any, Any]) -> Response[None] | None:
    """``before_request`` of the controllers that put two methods on one path: ``OPTIONS``
    answers with every method of the path. Litestar's own ``OPTIONS`` handler lists only the
    methods of the first handler registered on a path (``GET .../consents`` hid ``POST``);
    its 405s are right. Not on the prediction controllers: a hook costs every request.
    """
    if request.method != "OPTIONS":
        return None
    handler = request.route_handler
    for route in request.app.routes:
        if isinstance(route, HTTPRoute) and handler in route.route_handlers:
            allow = ", ".join(sorted(route.methods))
            return Response(None, status_code=204, headers={"Allow": allow})
    return None
