"""Who is asking and about whom: the principal (user, role, site, token), the keyed
pseudonym of a patient id, and token revocation.

May import audit, policy and store.
"""
