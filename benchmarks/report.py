"""What every benchmark part shares: percentiles, timing a loop, the machine's facts, the table, the JSON file.

No thresholds anywhere: a benchmark reports what it measured and on what, and a
reader compares runs on the same machine.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by linear interpolation between closest ranks (numpy's default).

    ``p`` 0 is the smallest value and 100 the largest; between two ranks the
    value lies on the straight line joining them.
    """
    if not values:
        raise ValueError("no values: a percentile of nothing is undefined")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is not within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rate(run: Callable[[], Any], min_seconds: float = 1.0, batch: int = 100) -> dict[str, float]:
    """Calls of ``run`` per second: whole batches until at least ``min_seconds`` passed."""
    calls, started = 0, time.perf_counter()
    while True:
        for _ in range(batch):
            run()
        calls += batch
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return {"per_second": round(calls / elapsed, 1), "calls": calls, "seconds": round(elapsed, 3)}


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def machine_facts() -> dict[str, Any]:
    """What the figures were measured on; the load average says how shared the machine was."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": _cpu_model(),
        "memory_mb": _memory_total_mb(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "commit": _git("rev-parse", "--short=7", "HEAD"),
        "uncommitted_changes": bool(status) if status is not None else None,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_json(path: Path, machine: Mapping[str, Any], results: Mapping[str, Any]) -> Path:
    """``{"machine": …, "results": …}``, indented; written whole or not at all (a reader never sees half)."""
    document = {"machine": dict(machine), "results": dict(results)}
    text = json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    partial.replace(path)
    return path


def table(rows: Iterable[tuple[str, str, str]]) -> str:
    """Rows of (part, figure, value) as an aligned plain-text table."""
    rows = [("part", "figure", "value"), *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def number(value: float, unit: str = "") -> str:
    """1234567.8 → '1,234,568'; small values keep what precision they need."""
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return f"{text} {unit}".rstrip()
