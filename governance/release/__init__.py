"""The release gate: the ordered checks one prediction (or simulation) must pass before
its result leaves, and the audit record of the decision.

Owns the check order (``checks.CHECKS``), the request's facts record, the decision.
May import every room below it (lifecycle, consent, identity, audit, policy, store);
nothing in governance imports it.
"""
