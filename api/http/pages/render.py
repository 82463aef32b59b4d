"""Rendering helpers shared by the page controllers."""

from __future__ import annotations

from typing import Any

from litestar.response import Template

from governance.identity.principal import Principal


def page(name: str, principal: Principal | None, *, status: int = 200, **context: Any) -> Template:
    """The template ``name`` with the signed-in principal (for the navigation)."""
    return Template(
        template_name=name, context={"principal": principal, **context}, status_code=status
    )


def form_text(data: dict[str, Any], key: str, limit: int = 2000) -> str:
    """A form field as stripped text ('' when absent), cut at ``limit`` characters."""
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()[:limit]
