"""ASGI entry point for ``uvicorn api.http.asgi:app`` (settings from the environment)."""

from api.http.app import create_app

app = create_app()
