"""Who is asking and about whom: the principal (user, role, site, token), what a user
name may be, the keyed pseudonym of a patient id, and token revocation.

May import audit, policy and store.
"""
