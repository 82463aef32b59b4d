"""Twin model kinds: pure computation (no mlflow, litestar or sqlmodel here).

Public names:

- :class:`TwinKind`, :class:`FeatureSpec`, :class:`TwinCard` — what a twin is and reads.
- :class:`ModelsError` — base of every error raised by this package.
"""

from models.card import FeatureSpec, TwinCard, TwinKind
from models.errors import ModelsError

__all__ = ["FeatureSpec", "ModelsError", "TwinCard", "TwinKind"]
