"""The tamper-evident audit log: the append-only hash chain (``chain``), its reads and
verification (``reads``, ``verify``), signed checkpoints kept outside the database
(``signing``: Ed25519; ``checkpoints``: the file; ``checkpoint_writer``: the server's
thread that signs the head by itself), and the stamping of each record with the policy
version it was made under (``policy_stamp``, a collaborator the chain calls under its lock).

``docs/audit-format.md`` specifies the bytes hashed and signed, for verifiers outside this
code. May import policy (for the served version) and store; nothing above.
"""
