"""Device streams: the ingestion process at the edge (``twinreg ingest``).

Devices publish readings (FHIR Observation JSON or the patient-twins observation schema)
to MQTT topics or NATS JetStream subjects that name the device, never the patient. The
ingester translates each batch to the service calls a clinician's request makes —
:meth:`~api.composition.twins.TwinService.ingest` for the patient the device is bound to
(consent, idempotent sealed storage, one audit record per batch), and
:meth:`~api.composition.twins.TwinService.calibrate` when the recalibration policy says —
and adds no rule of its own. A message is acknowledged only after its batch committed or
its dead letter was accepted by the broker.

Modules: :mod:`~api.streams.readings` (a message's readings, checked),
:mod:`~api.streams.fhir_observation` (the FHIR subset), :mod:`~api.streams.batch` (a batch
to service calls), :mod:`~api.streams.ingester` (the loop),
:mod:`~api.streams.recalibration`, :mod:`~api.streams.mqtt`,
:mod:`~api.streams.nats_stream`, :mod:`~api.streams.topics`,
:mod:`~api.streams.errors` (the exception tree).
"""
