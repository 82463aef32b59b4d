"""Per-patient data keys: patient data at rest is AES-GCM ciphertext under its patient's
own 256-bit key; the key is stored only wrapped (AES-GCM) by the master key, which lives
outside the database (the home's ``patient-master-key`` file, or
``TWINREG_PATIENT_MASTER_KEY``). Erasing a patient destroys the wrapped key: their
ciphertexts stay, unreadable by anyone, and the audit chain (which holds only keyed
digests) still verifies.

Every ciphertext is bound to where it is stored (its table and row id, as associated
data), so a ciphertext copied into another row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, insert, select, update

from governance.clock import utcnow
from governance.errors import InvalidInput, PatientErased
from governance.store.twin_records import PatientDataKey

_keys = PatientDataKey.__table__  # type: ignore[attr-defined]
_NONCE = 12
KEY_BYTES = 32
ERASED = "this patient was erased: their data key is destroyed and their data unreadable"


def seal(key: bytes, plaintext: bytes, bound_to: str) -> str:
    """``plaintext`` encrypted under ``key`` (random nonce), bound to ``bound_to``."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(key).encrypt(nonce, plaintext, bound_to.encode("utf-8"))
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, token: str, bound_to: str) -> bytes:
    """The plaintext of :func:`seal`; ``InvalidTag`` if the key, place or bytes differ."""
    raw = base64.b64decode(token)
    return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], bound_to.encode("utf-8"))


class PatientKeys:
    """Creates, unwraps and destroys patients' data keys (in the caller's transaction)."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise InvalidInput("the patient master key must be 32 bytes", field="master_key")
        self._master = master_key

    def data_key(self, conn: Connection, patient_key: str, *, create: bool = False) -> bytes:
        """The patient's data key (made now when ``create`` and there is none);
        :class:`PatientErased` once it was destroyed, or when there is none to read."""
        row = conn.execute(
            select(_keys.c.wrapped, _keys.c.erased_at).where(_keys.c.patient_key == patient_key)
        ).one_or_none()
        if row is not None and row.wrapped is not None:
            return unseal(self._master, row.wrapped, f"patient_data_key/{patient_key}")
        if row is not None or not create:
            raise PatientErased(ERASED if row is not None else "no data stored for this patient")
        key = AESGCM.generate_key(bit_length=256)
        conn.execute(
            insert(_keys).values(
                patient_key=patient_key,
                wrapped=seal(self._master, key, f"patient_data_key/{patient_key}"),
                created_at=utcnow(),
            )
        )
        return key

    def is_erased(self, conn: Connection, patient_key: str) -> bool:
        erased = conn.execute(
            select(_keys.c.erased_at).where(_keys.c.patient_key == patient_key)
        ).scalar_one_or_none()
        return erased is not None

    def destroy(self, conn: Connection, patient_key: str, by: str) -> bool:
        """Destroy the patient's key (an erased patient stays erased: no new key is ever
        made for them). Returns whether a key existed."""
        existed = conn.execute(
            update(_keys)
            .where(_keys.c.patient_key == patient_key, _keys.c.wrapped.is_not(None))
            .values(wrapped=None, erased_at=utcnow(), erased_by=by)
        ).rowcount
        if not existed and not self.is_erased(conn, patient_key):
            conn.execute(
                insert(_keys).values(
                    patient_key=patient_key,
                    wrapped=None,
                    created_at=utcnow(),
                    erased_at=utcnow(),
                    erased_by=by,
                )
            )
        return bool(existed)


def keyed_digest(key: bytes, data: bytes) -> str:
    """HMAC-SHA256 under the patient's key: digests of low-entropy values (an observation's
    content) that nobody can recompute without the key, and nobody at all once erased."""
    return hmac.new(key, data, hashlib.sha256).hexdigest()
