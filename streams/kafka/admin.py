"""Topic creation at start-up: create what is missing, leave what exists alone."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streams.kafka.topics import INTERNAL, LEDGERS, TOPICS

log = logging.getLogger(__name__)


def ensure_topics(bootstrap: str, partitions: int, replication_factor: int, max_message_bytes: int,
                  timeout_s: float = 15.0) -> list[str]:
    """Create every editsync topic that does not exist yet; return the names created.

    Idempotent: a topic another worker created a moment earlier is not an error.
    An existing topic with fewer partitions than configured is logged, not
    changed, because repartitioning would move orders between partitions.
    Created topics accept records as large as editsync's producer sends
    (``max.message.bytes``), so a record the producer takes is never refused by the broker.
    Ledger topics have one partition, compacted, whatever ``partitions`` says.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = admin.list_topics(timeout=timeout_s).topics
    names = [spec.name for spec in TOPICS] + list(INTERNAL)
    missing = [name for name in names + list(LEDGERS) if name not in existing]
    for name in names:
        if name in existing and len(existing[name].partitions) != partitions:
            log.warning("topic %s has %d partitions, configured %d; leaving it as it is",
                        name, len(existing[name].partitions), partitions)
    created: list[str] = []
    if not missing:
        return created
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=1, replication_factor=replication_factor,
                  config={"max.message.bytes": str(max_message_bytes), "cleanup.policy": "compact"})
         if name in LEDGERS else
         NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                  config={"max.message.bytes": str(max_message_bytes)}) for name in missing],
        operation_timeout=timeout_s,
    )
    for name, future in futures.items():
        try:
            future.result(timeout_s)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    log.info("created topics: %s", ", ".join(created) or "none")
    return created
