"""Which stored patient a (site, patient id) names, and the statements that read it.

Patient ids are scoped per site: a site's ``patient-042`` and another site's
``patient-042`` are two patients, stored under two keys
(:meth:`~governance.identity.pseudonym.Pseudonymiser.site_patient_key`, a keyed hash of
the site and the id). So nothing a site does with an id tells it whether the id exists
elsewhere, and no site can take an id another site will need.

Rows registered before the scoping keep the key they were written under, the keyed hash
of the id alone (:meth:`~governance.identity.pseudonym.Pseudonymiser.patient_key`): a
key cannot be recomputed without the id, which is never stored, so those rows are not
rewritten. A lookup matches either the site-scoped key, or the unscoped key *and* the
site the row records, so an old row is found by (its site, its id) and by no other site;
registering that id again at its site finds it instead of adding a second row. No table
changes.

Every statement here takes the parameters ``key`` (site-scoped), ``legacy`` (unscoped)
and ``site`` (:func:`lookup_params`); the release gate reads :data:`PATIENT_KEY_COLUMN`,
:data:`SITE_COLUMN` and :func:`consents_column` in the same statement as its other facts.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Connection,
    Label,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
)

from governance.identity.pseudonym import Pseudonymiser
from governance.store.records import Consent, Patient

_patient = Patient.__table__  # type: ignore[attr-defined]
_consent = Consent.__table__  # type: ignore[attr-defined]

# Statements on the prediction path are built once (SQLAlchemy caches their compilation).
_MATCH = or_(
    _patient.c.patient_key == bindparam("key"),
    and_(_patient.c.patient_key == bindparam("legacy"), _patient.c.site == bindparam("site")),
)
_FIND = select(_patient.c.patient_key).where(_MATCH).limit(1)
_SITE = select(_patient.c.site).where(_MATCH).limit(1)
_ACTIVE_CONSENTS = select(_consent.c.data_categories).where(
    _consent.c.patient_key == _FIND.scalar_subquery(),
    _consent.c.purpose == bindparam("purpose"),
    _consent.c.withdrawn_at.is_(None),
    or_(_consent.c.valid_from.is_(None), _consent.c.valid_from <= bindparam("at")),
    or_(_consent.c.valid_until.is_(None), _consent.c.valid_until > bindparam("at")),
)
#: The stored key of the patient (NULL when not registered at the site) ...
PATIENT_KEY_COLUMN = _FIND.scalar_subquery().label("patient_key")
#: ... the site its row records (NULL when not registered there) ...
SITE_COLUMN = _SITE.scalar_subquery().label("site")


def consents_column(dialect: str) -> Label[str | None]:
    """... and the category lists (JSON arrays) of its consents active for ``purpose``
    at ``at``, joined with commas (NULL when there is none): see :func:`categories_of`."""
    join = func.group_concat if dialect == "sqlite" else func.string_agg
    joined = join(_consent.c.data_categories, literal_column("','"))
    return _ACTIVE_CONSENTS.with_only_columns(joined).scalar_subquery().label("consents")


def categories_of(joined: str | None) -> frozenset[str]:
    """The union of the categories in a :func:`consents_column` value."""
    if not joined:
        return frozenset()
    lists: list[list[str]] = json.loads(f"[{joined}]")
    return frozenset(category for categories in lists for category in categories)


def lookup_params(
    pseudonymiser: Pseudonymiser, site: str | None, patient_id: str
) -> dict[str, Any]:
    """The parameters naming patient ``patient_id`` of ``site`` (None: a caller bound
    to no site, who names no patient)."""
    return {
        "key": pseudonymiser.site_patient_key(site or "", patient_id),
        "legacy": pseudonymiser.patient_key(patient_id),
        "site": site,
    }


def find(conn: Connection, params: dict[str, Any]) -> str | None:
    """The stored key of the patient :func:`lookup_params` names, or None."""
    key: str | None = conn.execute(_FIND, params).scalar_one_or_none()
    return key
