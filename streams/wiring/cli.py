"""editsync keeps Shopify order edits in step with Peoplevox, Shopify inventory and the ERP.

Settings are EDITSYNC_* environment variables (docs/configuration.md); exceptions, order and
replay talk to a running `editsync run` over HTTP with its API token.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys

from pydantic import ValidationError
from pydantic_settings import SettingsError

from streams.inbox import cli as inbox_cli
from streams.runtime.settings import ConfigError, Settings
from streams.wiring.shutdown import StopDeadline, StopRequested


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="editsync", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start broker (embedded unless EDITSYNC_KAFKA_BOOTSTRAP), worker and web server")
    commands.add_parser("topics", help="create missing topics (Avro and internal) and list the Avro ones")
    tailing = commands.add_parser("tail", help="print a topic's records as JSON lines, decoded from Avro")
    tailing.add_argument("topic", help="e.g. orders.events.v1, exceptions.v1, dlq.v1 (Avro, decoded) or "
                      "editsync.order-inputs (JSON); `editsync topics` lists the Avro ones")
    tailing.add_argument("--from-beginning", action="store_true", help="start at the oldest record, not the newest")
    tailing.add_argument("-n", "--count", type=int, default=None, help="stop after this many records")
    tailing.add_argument("--idle-timeout", type=float, default=5.0,
                      help="stop after this many seconds with no record (default 5)")
    demo = commands.add_parser("demo", help="drive a mixed day through the running stack's sandboxes, then judge "
                                            "every order")
    demo.add_argument("--orders", type=int, default=50, help="orders to place (default 50); recreates add more")
    demo.add_argument("--seed", type=int, default=7, help="the same seed drives the same day (default 7)")
    demo.add_argument("--settle", type=float, default=180.0,
                      help="at most this many seconds to wait for editsync to catch up (default 180, and never "
                           "less than EDITSYNC_PAYMENT_GRACE_S + 60: a balance left open is finance's only then)")
    demo.add_argument("--out", default="demo-results.json", help="where the judge's verdict is written as JSON")
    inbox_cli.add_parsers(commands)
    args = parser.parse_args(argv)
    if args.command != "run":
        # The entry point's stop-before-start handlers (entry.py) would end a `tail` or `demo` with exit 0
        # mid-way; these commands stop as Python programs do.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        settings = Settings()
        if args.command == "run":
            # Armed before the slow imports, so a stop signal during start-up still exits 0.
            deadline = StopDeadline()
            deadline.install_early_handlers()
            try:
                from streams.wiring.runner import run

                run(settings, deadline)
            except StopRequested:
                return 0
        elif args.command == "topics":
            _topics(settings)
        elif args.command == "tail":
            from streams.kafka.avro_codec import codec_from_settings
            from streams.kafka.tail import NoSuchTopic, tail

            try:
                tail(_bootstrap(settings), args.topic, codec_from_settings(settings.schema_registry_url),
                     args.from_beginning, args.count, args.idle_timeout)
            except NoSuchTopic as exc:
                print(f"editsync: {exc}", file=sys.stderr)
                return 2
        elif args.command == "demo":
            from pathlib import Path

            from sandboxes.demo import run_demo

            run_demo(settings, _bootstrap(settings), args.orders, args.seed, args.settle, Path(args.out))
        elif args.command in inbox_cli.COMMANDS:
            return inbox_cli.run(args, settings)
    except ConfigError as exc:
        print(f"editsync: configuration error: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        # A JSON-valued setting that is not JSON: pydantic-settings names the field, not the variable.
        field = re.search(r'field "(\w+)"', str(exc))
        where = f"EDITSYNC_{field.group(1).upper()}" if field else "a setting"
        print(f"editsync: configuration error: {where} is not JSON ({exc.__cause__ or exc})", file=sys.stderr)
        return 2
    except ValidationError as exc:
        for error in exc.errors():
            # Named as the operator set it (EDITSYNC_WEB_PORT), not as the Settings field.
            loc = error["loc"]
            inside = f" ({'.'.join(str(part) for part in loc[1:])})" if len(loc) > 1 else ""
            where = f"EDITSYNC_{str(loc[0]).upper()}{inside}: " if loc else ""
            print(f"editsync: configuration error: {where}{error['msg']}", file=sys.stderr)
        return 2
    return 0


def _bootstrap(settings: Settings) -> str:
    """The configured cluster, else the embedded broker a running `editsync run` recorded."""
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    recorded = settings.embedded_bootstrap_file
    if recorded.exists():
        return recorded.read_text().strip()
    raise ConfigError(f"set EDITSYNC_KAFKA_BOOTSTRAP, or start `editsync run` first (no {recorded})")


def _topics(settings: Settings) -> None:
    from streams.kafka.admin import ensure_topics
    from streams.kafka.topics import TOPICS

    bootstrap = _bootstrap(settings)
    ensure_topics(bootstrap, settings.topic_partitions, settings.topic_replication_factor,
                  settings.kafka_max_message_bytes)
    for spec in TOPICS:
        print(f"{spec.name:24} {spec.schema:45} {spec.doc}")


if __name__ == "__main__":
    sys.exit(main())
