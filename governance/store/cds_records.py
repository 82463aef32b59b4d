"""Tables of the CDS Hooks adapter (:mod:`api.cds`): the JWTs EHRs have used.

A CDS Hooks JWT's ``jti`` must never be seen twice. Every use is one row keyed by a digest
of (issuer, jti), kept until the token's ``exp`` has passed (a token past its ``exp`` is
refused anyway, so nothing older is needed). In the governance database, not in a worker's
memory: several replicas behind a load balancer share it, and the primary key makes the
first use win across all of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class EhrTokenUse(SQLModel, table=True):
    __tablename__ = "ehr_token_use"

    #: SHA-256 (hex) of the issuer and the jti: neither is stored in clear.
    token_key: str = Field(primary_key=True, max_length=64)
    issuer: str = Field(max_length=255)
    #: The token's ``exp``: the row may be removed after it.
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False,
                                                   index=True))  # fmt: skip
    used_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
