"""Governance: release gate, consent, approvals, bias audits and the audit log.

Knows nothing about HTTP; receives the registry and the explainer as parameters.
"""
