"""Run with the code of commit 9cbf637 after its ``twinreg demo --home HOME``: the writes
the demo does not make (an override, a withdrawn consent, a revoked token, a suspension
and its reinstatement), so that every governance table holds rows. See README.md."""

import sys

from api.cli.demo import CLINICIAN, SITE
from api.composition.service import TwinregService
from api.composition.settings import Settings
from governance.identity.principal import Principal

service = TwinregService(Settings.load(sys.argv[1], environ={"TWINREG_WARM_UP": "0"}))
released = [
    r for r in service.audit.records(action="prediction", limit=1000) if r["decision"] == "released"
]
service.record_override(
    CLINICIAN, released[0]["record_id"], "disregarded", "clinical judgement: recent labs"
)
service.patients.register(CLINICIAN, "patient-003", SITE)
consent = service.patients.grant(
    CLINICIAN, "patient-003", "treatment", ["demographics", "vitals"], None, None
)
service.patients.withdraw(CLINICIAN, "patient-003", consent.id)
service.revocations.revoke("cli", subject="mallory")
ethics = Principal("erin", "ethics_board")
service.suspend(ethics, "gbsg2-recurrence", "1", "calibration drift reported")
service.reinstate(ethics, "gbsg2-recurrence", "1", "recalibrated")
print(service.audit_verify(None)["message"])
