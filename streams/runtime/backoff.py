"""When a command that failed transiently is tried again.

Exponential backoff with "equal jitter": each wait is at least half of
base × 2^attempt and at most all of it. The jitter spreads the retries of
many orders that failed together (an outage ends, a 429 storm passes); the
fixed half guarantees how long a run of retries lasts, so the default
attempts ride out a target that is down for a minute (0.5+1+…+32 s ≥ 63 s)
before a command becomes a person's problem.
"""

from __future__ import annotations

import random

CAP_S = 300.0


def backoff_ms(attempt: int, base_s: float, rng: random.Random, cap_s: float = CAP_S) -> int:
    """Milliseconds before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
    ceiling = min(cap_s, base_s * 2 ** attempt)
    return int((ceiling / 2 + rng.uniform(0, ceiling / 2)) * 1000)

