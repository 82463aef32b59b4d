"""Human oversight: clinicians' overrides of released predictions, and the ethics board's
report over a period (decisions, refusals, overrides, approvals, policy changes).

May import audit, identity, policy and store; never the gate, consent or validation.
"""
