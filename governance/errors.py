"""Errors of the ``governance`` package (it knows nothing about HTTP).

GovernanceError
 +-- PolicyError            a policy file is missing or malformed: withhold everything
 +-- TokenRevoked           the caller's token was revoked: nothing is decided for it
 +-- NotFound               an entity does not exist (or is not visible to the caller)
 +-- Forbidden              the caller's role or site does not allow the action
 |    +-- FourEyesViolation the registrant tried to approve its own version
 +-- Conflict               the action contradicts the current state
 |    +-- DossierRequired   approval without a current, passing validation dossier
 |    +-- PatientErased     the patient's data key was destroyed: nothing of theirs is read
 +-- InvalidInput           a value is wrong; the message names the field and the fix
 +-- AuditWriteError        the audit record could not be committed: nothing is released
 +-- StoreUnavailable       the governance store failed during a decision: nothing is released
 +-- AuditChainBroken       verification found a record that does not match
 +-- SchemaError            the governance database's schema is not one this code can use
      +-- SchemaBehind      it is older than this code: back it up, then `twinreg upgrade`
      +-- SchemaUnknown     a revision this code does not know (a newer twinreg upgraded it)
"""


class GovernanceError(Exception):
    """Base of every error raised by :mod:`governance`.

    ``audit_id`` names the audit record of this refusal when the raiser wrote one (None:
    not recorded yet; the API records every refusal it answers exactly once)."""

    audit_id: str | None = None


class PolicyError(GovernanceError):
    """A policy file is missing or malformed; every decision is withheld."""


class TokenRevoked(GovernanceError):
    """The caller's token (or every token of its user issued before) was revoked."""


class NotFound(GovernanceError):
    """The entity does not exist, or the caller may not know that it does."""


class Forbidden(GovernanceError):
    """The caller's role or site does not allow the action."""


class FourEyesViolation(Forbidden):
    """The registrant of a version may never approve it."""


class Conflict(GovernanceError):
    """The action contradicts the current state (e.g. approving a suspended version)."""


class PatientErased(Conflict):
    """The patient was erased (their data key destroyed): their data cannot be read, and
    nothing new is stored for them."""


class InvalidInput(GovernanceError):
    """A value is wrong; ``field`` names it and the message says what to fix."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AuditWriteError(GovernanceError):
    """The audit record could not be committed durably."""


class StoreUnavailable(GovernanceError):
    """The governance store failed while a decision was being made (its facts could not
    be read): nothing is released. ``audit_id`` names the record of the withheld decision
    when the audit log could still be written (else None). The message names the store,
    never its error (SQL, paths, hosts: those go to the server log)."""

    def __init__(self, message: str, audit_id: str | None = None) -> None:
        super().__init__(message)
        self.audit_id = audit_id


class StoreBusy(GovernanceError):
    """A write that must not wait (on the event loop) found the SQLite write lock held by
    another writer; nothing was written, and the work is to be done again where waiting
    holds up nothing else (:func:`governance.store.db.without_waiting`)."""


class AuditChainBroken(GovernanceError):
    """A record's hash does not match the chain; ``seq`` names the first one."""

    def __init__(self, message: str, seq: int | None) -> None:
        super().__init__(message)
        self.seq = seq


class DossierRequired(Conflict):
    """Approval needs a passing validation dossier judged by today's criteria; the
    message says what is missing and that a validator must run the dossier first."""


class SchemaError(GovernanceError):
    """The governance database's schema is not one this code can use (e.g. twinreg's
    tables without a schema revision that differ from the schema before migrations); the
    message says what differs and what to do."""


class SchemaBehind(SchemaError):
    """The database is at an older schema revision than this code: back it up, then run
    ``twinreg upgrade`` (``twinreg init`` and the server's start-up also upgrade it)."""


class SchemaUnknown(SchemaError):
    """The database is at a schema revision this code does not know: a newer twinreg
    upgraded it. Run that version, or restore the backup taken before the upgrade."""
