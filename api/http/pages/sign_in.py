"""Sign in and out: the token goes into an HttpOnly, SameSite=Strict cookie; signing out
revokes it."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from api.errors import Unauthorized
from api.http.pages.render import form_text, page
from api.http.pages.session import (
    NO_SESSION,
    authenticate,
    cleared_cookie,
    safe_next,
    service_of,
    session_cookie,
    signed_in,
)

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class SignInPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def start(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        principal = signed_in(request)
        if principal is None:
            return Redirect("/ui/sign-in", status_code=303)
        return page("home.html", principal)

    @get("/sign-in", opt={NO_SESSION: True})
    async def sign_in_form(self, next: str | None = None) -> Template:
        return page("sign_in.html", None, next=safe_next(next))

    @post("/sign-in", status_code=303, sync_to_thread=True, opt={NO_SESSION: True})
    def sign_in(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        token = form_text(data, "token", limit=8192)
        target = safe_next(form_text(data, "next"))
        service = service_of(request)
        try:
            if not token:
                raise Unauthorized("paste the token that 'twinreg token' printed")
            principal = authenticate(service, token, request.scope)
        except Unauthorized as exc:
            return page("sign_in.html", None, status=401, error=str(exc), next=target)
        service.audit.append("ui.sign_in", {"principal": principal.to_audit()})
        redirect = Redirect(target, status_code=303)
        redirect.cookies.append(session_cookie(request, token))
        return redirect

    @post("/sign-out", status_code=303, sync_to_thread=True)
    def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        """The session's token is revoked, not only forgotten: a copy of the cookie (or the
        same token used as a bearer) is refused from now on."""
        principal = signed_in(request)
        if principal is not None and principal.token_id is not None:
            service_of(request).revocations.revoke(principal.user, jti=principal.token_id)
        redirect = Redirect("/ui/sign-in", status_code=303)
        redirect.cookies.append(cleared_cookie(request))
        return redirect
