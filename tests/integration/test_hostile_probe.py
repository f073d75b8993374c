"""A hostile run against ``editsync run`` with its sandboxes at log level debug (issue 16), as the probe does it.

sandboxes/testkit/probe.py sends the requests and judges the outcome; this runs it small (docs/operating/service-port.md gives the
figure for a run of thousands) with a short read timeout so the slow-client checks stay quick.
"""

from __future__ import annotations

from sandboxes.testkit.probe import probe, running


def test_a_hostile_run_leaves_no_5xx_no_crash_no_skipped_record_no_secret_and_no_undocumented_route(tmp_path):
    with running(tmp_path, read_timeout_s=2.0, log_level="debug") as service:
        report = probe(service, requests=400, seed=3)
        log = service.log_path.read_text(errors="replace")
    assert report.ok, "\n".join(report.lines())
    assert {"forged", "signed_body", "signed_header", "oversize", "callback", "callback_forged", "route",
            "chunked"} <= set(report.statuses)
    # The lines that carried secrets before are there, redacted: the scan above is not vacuous.
    assert "webhooks/peoplevox?token=[redacted]" in log  # httpx, INFO: the status callback's URL
    assert "password>[redacted]</" in log  # zeep, DEBUG: Peoplevox's Authenticate envelope
