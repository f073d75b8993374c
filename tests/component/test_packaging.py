"""The installed package, not the checkout, must carry what editsync reads at run time.

The Dockerfile runs ``pip install .``, so the service runs from site-packages: the Avro schemas
(``schemas/``, read by the codec at start) and the runbook (``docs/runbook.md``, served by the inbox)
must be in the wheel. Built from a clean copy of the sources (pip builds in place and reuses a
``build/`` directory, which would hide a file the sources no longer ship), installed into a scratch
directory, then imported from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import streams
from streams.inbox.pages import RUNBOOK
from streams.kafka.avro_codec import SCHEMA_DIR, AvroCodec, load_schemas
current, writers = load_schemas()
AvroCodec()
print(streams.__file__, SCHEMA_DIR, len(current), len(writers), RUNBOOK, len(RUNBOOK.read_text()), sep="\\n")
"""


def test_the_installed_wheel_finds_its_schemas_and_runbook(tmp_path):
    source, wheels, target, elsewhere = tmp_path / "src", tmp_path / "wheels", tmp_path / "site", tmp_path / "cwd"
    elsewhere.mkdir()
    shutil.copytree(ROOT, source, symlinks=True,
                    ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "tests", "grafana",
                                                  "deploy"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True, capture_output=True)
    (wheel,) = wheels.glob("editsync-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True)
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=elsewhere, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(target)})
    assert probe.returncode == 0, probe.stderr
    package, schema_dir, current, writers, runbook, runbook_size = probe.stdout.split("\n")[:6]
    assert Path(package).is_relative_to(target), "imported from the checkout, not from the installed wheel"
    assert Path(schema_dir).is_relative_to(target) and Path(runbook).is_relative_to(target)
    assert int(current) == len(list((ROOT / "schemas").glob("*.avsc")))
    assert int(writers) >= int(current)
    assert int(runbook_size) == len((ROOT / "docs" / "runbook.md").read_text())


def test_every_link_in_the_packages_points_at_what_the_dockerfile_copies():
    dockerfile = (ROOT / "Dockerfile").read_text()
    links = [path for path in (ROOT / "streams").rglob("*") if path.is_symlink()]
    assert links, "streams/schemas and streams/inbox/runbook.md link to the repository's files"
    for link in links:
        source = link.resolve().relative_to(ROOT).parts[0]
        assert f"COPY {source} ./{source}" in dockerfile, f"{link} points into {source}/, which the image lacks"
