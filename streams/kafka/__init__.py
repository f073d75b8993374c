"""Kafka plumbing: the embedded broker, topic names and creation, the Avro codec, records, dead letters, tail."""
