"""ASGI entry point for ``uvicorn api.http.asgi:app`` (settings from the environment).

The served process creates its files private to its owner (umask 077): the stores and
secrets are created 0600 in any case (:mod:`api.composition.home`), and so is everything
else it writes, MLflow's artifacts included.
"""

import os

from api.http.app import create_app

os.umask(0o077)
app = create_app()
