"""Dependencies shared by the controllers."""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.composition.service import TwinregService
from governance.identity.principal import Principal


async def provide_service(request: Request[Any, Any, Any]) -> TwinregService:
    service: TwinregService = request.app.state.twinreg
    return service


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    user = request.user
    assert isinstance(user, Principal)
    return user
