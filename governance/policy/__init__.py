"""The policy files in ``policies/`` as the rest of governance reads them: the Casbin
model and rules (files, or lines in the database at scale), ethical-use rules,
thresholds and dossier credibility, one content-hashed version, and the watchers that
tell a worker the lines changed.

May import store only.
"""
