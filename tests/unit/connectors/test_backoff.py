import random

from sandboxes.testkit.support import shortest_retry_span_s
from streams.runtime.backoff import backoff_ms
from streams.runtime.settings import Settings


def test_each_wait_is_between_half_and_all_of_the_doubled_base():
    rng = random.Random(3)
    for attempt in range(6):
        waits = [backoff_ms(attempt, 1.0, rng) for _ in range(500)]
        ceiling = 1000 * 2 ** attempt
        assert ceiling / 2 <= min(waits) and max(waits) <= ceiling
        assert max(waits) - min(waits) > ceiling / 4, "jitter spreads retries that failed together"


def test_waits_are_capped():
    assert backoff_ms(30, 1.0, random.Random(1), cap_s=60) <= 60_000


def test_the_default_retries_outlast_a_minute_long_outage():
    defaults = Settings.model_fields
    assert shortest_retry_span_s(defaults["sink_max_attempts"].default, defaults["sink_backoff_s"].default) >= 60
