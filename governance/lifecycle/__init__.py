"""Model versions and their lifecycle: registration records, transitions (approve,
reject, suspend, reinstate, retire), the four-eyes rule, and the serving state the gate
reads (which version is approved, cached per lifecycle generation).

May import validation (approval needs a passing bias audit and dossier), identity,
audit, policy and store; never consent, oversight or the gate.
"""
