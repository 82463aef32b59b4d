"""The IWPC pharmacogenetic warfarin dosing algorithm as a statistical twin.

- :mod:`models.warfarin.iwpc` — the published model (:data:`IWPC_PHARMACOGENETIC`) as data.
- :mod:`models.warfarin.population` — a seeded population simulated from it (checks the
  implementation only).
- :mod:`models.warfarin.demo` — the demo's twin: card, evaluation set and background.
"""

from models.warfarin.iwpc import CODES, FEATURES, IWPC_PHARMACOGENETIC, IwpcWarfarinModel

__all__ = ["CODES", "FEATURES", "IWPC_PHARMACOGENETIC", "IwpcWarfarinModel"]
