"""A bounded soak and overload run (HCLIP_SOAK_SECONDS, default 60): more clients than workers, a small queue."""

import json
import os

from conftest import TINY
from soak import check_report, run_soak, soak_config

SECONDS = float(os.environ.get("HCLIP_SOAK_SECONDS", "60"))


def test_soak_and_overload(start_service):
    service = start_service(soak_config(TINY, 48, workers=2, queue=2))
    report = run_soak(service, SECONDS, clients=12)
    print("soak report:", json.dumps(report))
    report_path = os.environ.get("HCLIP_SOAK_REPORT")
    if report_path:
        with open(report_path, "w") as f:
            json.dump(report, f, indent=2)
    assert check_report(report) == [], report
    assert service.stop() == 0, service.log()[-2000:]
