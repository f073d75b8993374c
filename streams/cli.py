"""The ``editsync`` command."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from streams.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="editsync", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start broker (embedded unless EDITSYNC_KAFKA_BOOTSTRAP), worker and web server")
    commands.add_parser("topics", help="create missing topics and list them")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        if args.command == "run":
            from streams.runner import run

            run(settings)
        elif args.command == "topics":
            _topics(settings)
    except (ConfigError, ValidationError) as exc:
        print(f"editsync: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


def _topics(settings: Settings) -> None:
    from streams.admin import ensure_topics
    from streams.topics import TOPICS

    if not settings.kafka_bootstrap:
        raise ConfigError("EDITSYNC_KAFKA_BOOTSTRAP is required for `editsync topics`")
    ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, settings.topic_replication_factor)
    for spec in TOPICS:
        print(f"{spec.name:24} {spec.schema:45} {spec.doc}")


if __name__ == "__main__":
    sys.exit(main())
