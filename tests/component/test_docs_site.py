"""The documentation site builds with ``mkdocs build --strict``: a page missing from the nav, a link to a page
that does not exist or to an anchor a page lacks is a warning, and strict mode fails on any warning."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_without_a_warning(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's notice about its successor: not about our pages
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, env=env, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "WARNING" not in build.stderr, build.stderr
    site = tmp_path / "site"
    for page in ("architecture", "configuration", "operating/alerts", "runbook"):
        assert (site / page / "index.html").is_file(), page
    # The alerts' runbook_url anchors (deploy/prometheus/alerts.yml) are the page's heading ids.
    assert 'id="editsyncconsumerlagrising"' in (site / "operating" / "alerts" / "index.html").read_text()
