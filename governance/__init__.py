"""Governance: who may do what with which twin, and the record of every decision.

Knows nothing about HTTP, MLflow or the explainers: the composition in ``api`` passes the
registry and the explainer in. One room per concern, lower rooms never importing higher
ones (import-linter checks it):

- ``release/``     the release gate: the ordered checks one prediction must pass
- ``oversight/``   overrides of released predictions, the ethics-board report
- ``lifecycle/``   model versions, transitions, four-eyes, the serving state
- ``validation/``  bias audits, validation dossiers, change control
- ``consent/``     patients, sites and consents
- ``identity/``    principals, pseudonymous patient keys, token revocation
- ``audit/``       the hash-chained audit log, its signed checkpoints, policy-version stamping
- ``policy/``      the policy files: Casbin rules, ethical-use rules, thresholds, watchers
- ``store/``       the governance database: engine, tables, migrations

Beside them, used by every room: ``errors`` (the one exception tree), ``clock``,
``canonical`` (canonical JSON and digests).
"""
