"""Patients (by keyed pseudonym), the site each belongs to, and their consents per
purpose and data category: grant, withdraw, list, and the active categories the gate
reads.

May import identity, audit, policy and store; never validation, lifecycle, oversight or
the gate.
"""
