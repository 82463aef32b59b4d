"""The tamper-evident audit log: the append-only hash chain (``chain``), checkpoints
(``checkpoints``), and the stamping of each record with the policy version it was made
under (``policy_stamp``, a collaborator the chain calls under its lock).

May import policy (for the served version) and store; nothing above.
"""
