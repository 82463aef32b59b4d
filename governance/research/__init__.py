"""Research: versioned cohorts (drawn from a population prior, or from a site's patient
twins whose consents cover ``research``), in-silico trial jobs with the chunks they
finished, and what a trial over real patients may disclose (minimum cell size with
complementary suppression).

Imports lower rooms only (consent, identity, audit, policy, store). Who may do what, the
model's approval and bias audit, and running the trials are the composition's
(:mod:`api.composition.cohorts`, :mod:`api.composition.trials`) and the release gate's
(:mod:`governance.release.trials`).
"""
