"""CDS Hooks 2.0: an adapter at the edge between EHRs and twinreg's services.

- :mod:`api.cds.hooks`       the front door (discovery, authentication, calls, feedback)
- :mod:`api.cds.ehr_jwt`     the EHR's JWT as CDS Hooks requires it; :mod:`api.cds.issuers`
                             the allowed issuers, keys and users; :mod:`api.cds.jku`
- :mod:`api.cds.discovery`   the services and their prefetch templates
- :mod:`api.cds.requests`    hook and feedback requests, checked
- :mod:`api.cds.fhir_input`  the FHIR R4 resources read (``fhir.resources`` R4B models)
- :mod:`api.cds.features`    a twin's features from them (``policies/cds_feature_codes.toml``)
- :mod:`api.cds.risk`, :mod:`api.cds.dosing`  the services; :mod:`api.cds.cards` the cards
- :mod:`api.cds.feedback`    accepted / overridden cards, recorded like overrides

It adds no rule: each call is the service call ``/v1`` makes, through the same release
gate; its result (or refusal) becomes cards. Errors: :mod:`api.cds.errors`.
"""
