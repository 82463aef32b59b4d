"""A schedule of meals, boluses and basal rates as the glucose kernel's events.

A real day is given as meals (g of carbohydrate at a time), insulin boluses (U at a time)
and basal rates (U/h from a time on). The kernel takes piecewise-constant inputs, the way
simglucose's ``T1DPatient`` takes them minute by minute (``glucose_kernels.py``); this
module makes them, at any real times:

- a meal is eaten at :data:`EAT_RATE_G_PER_MIN` (simglucose's 5 g/min) in whole minutes
  from its time: ``min(5, left)`` g in each minute, one kernel event per minute and a
  0 g/min event when eating stops. A meal that comes while another is being eaten is added
  to what is left to eat, from the next minute of eating on (simglucose announces it at
  the minute it comes; at whole minutes the two agree), and continues the same meal for
  gastric emptying; eating that stops is a new meal when eating starts again.
- a bolus is given as a rate over :data:`BOLUS_MIN` (one minute) from its time; boluses
  that overlap add up.
- a basal rate passes as it is.

The arithmetic of what is left to eat is simglucose's (``planned += meal``,
``eat = min(5, planned)``, ``planned = max(0, planned - eat)``), so remainders round the
same way.
"""

from __future__ import annotations

import numpy as np

from models.mechanistic._validation import FloatArray, IntArray
from models.mechanistic.glucose_kernels import BASAL, BOLUS_RATE, EAT

#: Schedule event kinds (what a person records): a meal (g), a bolus (U), a basal rate (U/h).
MEAL, BOLUS, BASAL_RATE = 0, 1, 2
#: simglucose's ``T1DPatient.EAT_RATE`` (g of carbohydrate per minute).
EAT_RATE_G_PER_MIN = 5.0
#: A bolus is given over this long (min), as simglucose's one-minute insulin action.
BOLUS_MIN = 1.0

Event = tuple[float, int, float]


def _eating(times: FloatArray, grams: FloatArray) -> list[Event]:
    """Minutes of eating for meals at ``times`` (sorted) of ``grams``: (time, EAT, g)."""
    events: list[Event] = []
    i, n = 0, times.size
    while i < n:
        start = float(times[i])
        planned = 0.0
        minute = 0
        while True:
            now = start + minute
            while i < n and times[i] <= now:
                planned += float(grams[i])
                i += 1
            if planned <= 0.0:
                break
            eat = min(EAT_RATE_G_PER_MIN, planned)
            planned = max(0.0, planned - eat)
            events.append((now, EAT, eat))
            minute += 1
        events.append((start + minute, EAT, 0.0))
    return events


def _bolus_rates(times: FloatArray, units: FloatArray) -> list[Event]:
    """The bolus insulin rate (U/min) from each time it changes: (time, BOLUS_RATE, rate)."""
    ends = times + BOLUS_MIN
    points = np.unique(np.concatenate([times, ends]))
    events: list[Event] = []
    for point in points:
        active = (times <= point) & (point < ends)
        events.append((float(point), BOLUS_RATE, float(np.sum(units[active])) / BOLUS_MIN))
    return events


def kernel_events(
    times: FloatArray, kinds: IntArray, values: FloatArray
) -> tuple[FloatArray, IntArray, FloatArray]:
    """The kernel's events (sorted by time, stable) for a validated schedule whose kinds
    are :data:`MEAL`, :data:`BOLUS` and :data:`BASAL_RATE`."""
    meals = (kinds == MEAL) & (values > 0.0)
    boluses = (kinds == BOLUS) & (values > 0.0)
    basal = kinds == BASAL_RATE
    events = [
        *((float(t), BASAL, float(v)) for t, v in zip(times[basal], values[basal], strict=True)),
        *_bolus_rates(times[boluses], values[boluses]),
        *_eating(times[meals], values[meals]),
    ]
    events.sort(key=lambda e: e[0])
    out_times = np.array([e[0] for e in events], dtype=np.float64)
    out_kinds = np.array([e[1] for e in events], dtype=np.int64)
    out_values = np.array([e[2] for e in events], dtype=np.float64)
    return out_times, out_kinds, out_values
