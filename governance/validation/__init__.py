"""Judging a version before it may serve: bias audits (fairlearn metrics per sensitive
group against the policy's limits), validation dossiers (metrics, subgroups, explanation
checks, credibility) and change control against the approved version.

May import identity, audit, policy and store; never consent, lifecycle, oversight or the
gate.
"""
