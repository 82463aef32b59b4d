"""Ed25519 signatures on checkpoints of the audit chain.

A checkpoint says "the first ``count`` records of the chain end in ``hash``", at ``at``.
Its signed message is these ASCII bytes (``docs/audit-format.md`` specifies it for outside
verifiers)::

    twinreg-audit-checkpoint/v1\\n<count>\\n<hash>\\n<at>\\n

``<count>`` in decimal without sign or leading zeros, ``<hash>`` the 64 lowercase hex
digits of the head's hash, ``<at>`` the checkpoint's time as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The signature is Ed25519 (RFC 8032) over these bytes,
written as 128 lowercase hex digits. A key is named by its ``key_id``: the first 16 hex
digits of the SHA-256 of its 32 raw public-key bytes.

The private key never enters the database; whoever holds the public key
(:meth:`CheckpointKey.pem`) can check every checkpoint, also of an exported log.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from governance.errors import InvalidInput

#: The first line of every signed checkpoint message (domain separation and format version).
CHECKPOINT_CONTEXT = "twinreg-audit-checkpoint/v1"


def checkpoint_message(count: int, digest: str, at: str) -> bytes:
    """The exact bytes signed for the checkpoint (count, hash, at)."""
    return f"{CHECKPOINT_CONTEXT}\n{count}\n{digest}\n{at}\n".encode("ascii")


class CheckpointKey:
    """A public key by which checkpoints are verified."""

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self._key = public_key
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def from_pem(cls, data: bytes) -> CheckpointKey:
        """The key in a PEM ``PUBLIC KEY`` block (as :meth:`pem` writes it)."""
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidInput(f"not a PEM public key: {exc}", field="public_key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InvalidInput(
                f"the public key is {type(key).__name__}, not Ed25519", field="public_key"
            )
        return cls(key)

    def pem(self) -> str:
        """The key as a PEM ``PUBLIC KEY`` block (SubjectPublicKeyInfo), for export."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def verifies(self, count: int, digest: str, at: str, signature: str) -> bool:
        """Whether ``signature`` (hex) is this key's signature of the checkpoint."""
        try:
            raw = bytes.fromhex(signature)
        except ValueError:
            return False
        if len(raw) != 64:
            return False
        try:
            self._key.verify(raw, checkpoint_message(count, digest, at))
        except InvalidSignature:
            return False
        return True


class CheckpointSigner:
    """The private key that signs checkpoints (kept in its own file, never in the DB)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = CheckpointKey(private_key.public_key())

    @classmethod
    def from_pem(cls, data: bytes) -> CheckpointSigner:
        """The key in a PEM ``PRIVATE KEY`` block (PKCS #8, unencrypted)."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidInput(f"not a PEM private key: {exc}", field="signing_key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInput(
                f"the signing key is {type(key).__name__}, not Ed25519", field="signing_key"
            )
        return cls(key)

    @staticmethod
    def new_pem() -> bytes:
        """A new private key as PEM (PKCS #8, unencrypted: the file's mode protects it)."""
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, count: int, digest: str, at: str) -> str:
        """The signature (128 hex digits) of the checkpoint (count, hash, at)."""
        return self._key.sign(checkpoint_message(count, digest, at)).hex()
