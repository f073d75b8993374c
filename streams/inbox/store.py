"""The exception store: what people query, a projection of the topics (SQLAlchemy 2).

SQLite in the data dir by default; PostgreSQL (``postgresql+psycopg://``) when
``EDITSYNC_DATABASE_URL`` is set, so that workers share one store. Writes are
idempotent: an exception is upserted by id and only a newer record replaces
it (higher offset, or a later timestamp after the topic was recreated), a
timeline entry is inserted once per record id, and read positions only move
forward. Every worker may therefore project every record, in any order of
arrival, into the same database.

Two workers sharing PostgreSQL write the same rows at the same time: each
upsert locks its row until the transaction commits, and two batches holding
the same rows in different orders (each worker's fetches bring the partitions
in their own order) would deadlock. Every transaction therefore takes its rows
in one order: table by table, each by key. Creating the tables is serialised
by an advisory lock, as workers starting together on an empty database would
otherwise both create them and one would fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from streams.core.details import ExceptionState
from streams.inbox.projection import ExceptionRow, OrderSeen, Projected, TimelineEntry

ACTIVE_STATES = (ExceptionState.OPEN.value, ExceptionState.RETRYING.value)
SCHEMA_LOCK = 0x65646974_73796E63  # "editsync": the advisory lock every worker takes to create the tables

metadata = MetaData()
exceptions = Table(
    "exceptions", metadata,
    Column("exception_id", String(512), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("order_name", String(128)),
    Column("type", String(64), nullable=False),
    Column("owner", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("summary", Text, nullable=False),
    Column("detail_json", Text, nullable=False),
    Column("suggested_action", Text),
    Column("actor", String(200)),
    Column("note", Text),
    Column("record_at", BigInteger, nullable=False),
    Column("record_offset", BigInteger, nullable=False),
    Index("ix_exceptions_queue", "owner", "state", "first_seen"),
    Index("ix_exceptions_order", "order_id"),
)
timeline = Table(
    "timeline", metadata,
    Column("record_id", String(64), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("source", String(128), nullable=False),
    Column("title", Text, nullable=False),
    Column("detail_json", Text, nullable=False),
    Index("ix_timeline_order", "order_id", "at", "seq"),
)
orders = Table(
    "orders", metadata,
    Column("order_id", String(64), primary_key=True),
    Column("order_name", String(128)),
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
    Index("ix_orders_last_at", "last_at"),
)
positions = Table(
    "projection_positions", metadata,
    Column("topic", String(128), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class ExceptionQuery:
    owners: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    order_id: str | None = None
    first_seen_before: int | None = None  # older than: first seen at or before this time (epoch ms)
    first_seen_after: int | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Page:
    items: list[ExceptionRow]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Queue:
    owner: str
    open: int = 0
    retrying: int = 0
    oldest_first_seen: int | None = None


@dataclass
class Batch:
    """What one poll of the topics projects, written in one transaction."""

    projected: list[Projected] = field(default_factory=list)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to read


class Store:
    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.dialect != "postgresql":
            raise ValueError(f"exception store: {self.dialect} is not supported (SQLite or PostgreSQL)")
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            metadata.create_all(conn)

    def close(self) -> None:
        self.engine.dispose()

    # --- writes --------------------------------------------------------------------------

    def apply(self, batch: Batch) -> None:
        # Rows in one order for every writer (see the module's docstring); sorted() is stable, so one
        # exception's records keep their order of arrival.
        projected = batch.projected
        with self.engine.begin() as conn:
            for row in sorted((p.exception for p in projected if p.exception), key=lambda r: r.exception_id):
                self._upsert_exception(conn, row)
            for entry in sorted((p.entry for p in projected if p.entry), key=lambda e: e.record_id):
                self._insert_entry(conn, entry)
            for seen in sorted((p.order for p in projected if p.order), key=lambda o: o.order_id):
                self._upsert_order(conn, seen)
            for (topic, partition), next_offset in sorted(batch.positions.items()):
                self._advance(conn, topic, partition, next_offset)

    def _insert(self, table: Table):  # type: ignore[no-untyped-def]
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _greatest(self, a, b):  # type: ignore[no-untyped-def]
        return func.greatest(a, b) if self.dialect == "postgresql" else func.max(a, b)

    def _least(self, a, b):  # type: ignore[no-untyped-def]
        return func.least(a, b) if self.dialect == "postgresql" else func.min(a, b)

    def _upsert_exception(self, conn: Connection, row: ExceptionRow) -> None:
        values = row.model_dump(mode="json", exclude={"detail"}) | {
            "detail_json": json.dumps(row.detail.wire(), sort_keys=True)}
        statement = self._insert(exceptions).values(**values)
        incoming = statement.excluded
        newer = or_(incoming.record_offset > exceptions.c.record_offset,
                    incoming.record_at > exceptions.c.record_at)
        updates = {name: incoming[name] for name in values if name != "exception_id"}
        updates["first_seen"] = self._least(exceptions.c.first_seen, incoming.first_seen)
        conn.execute(statement.on_conflict_do_update(index_elements=[exceptions.c.exception_id], set_=updates,
                                                     where=newer))

    def _insert_entry(self, conn: Connection, entry: TimelineEntry) -> None:
        values = entry.model_dump(exclude={"detail"}) | {"detail_json": json.dumps(entry.detail, default=str)}
        conn.execute(self._insert(timeline).values(**values).on_conflict_do_nothing(
            index_elements=[timeline.c.record_id]))

    def _upsert_order(self, conn: Connection, seen: OrderSeen) -> None:
        statement = self._insert(orders).values(order_id=seen.order_id, order_name=seen.order_name,
                                                first_at=seen.at, last_at=seen.at)
        incoming = statement.excluded
        conn.execute(statement.on_conflict_do_update(index_elements=[orders.c.order_id], set_={
            "order_name": func.coalesce(incoming.order_name, orders.c.order_name),
            "first_at": self._least(orders.c.first_at, incoming.first_at),
            "last_at": self._greatest(orders.c.last_at, incoming.last_at)}))

    def _advance(self, conn: Connection, topic: str, partition: int, next_offset: int) -> None:
        statement = self._insert(positions).values(topic=topic, partition=partition, next_offset=next_offset)
        conn.execute(statement.on_conflict_do_update(
            index_elements=[positions.c.topic, positions.c.partition],
            set_={"next_offset": self._greatest(positions.c.next_offset, statement.excluded.next_offset)}))

    def forget_positions(self, topic: str, partitions: Iterable[int]) -> None:
        """The broker's log for these partitions starts again (a recreated topic): read them from the start."""
        with self.engine.begin() as conn:
            conn.execute(positions.delete().where(positions.c.topic == topic,
                                                  positions.c.partition.in_(list(partitions))))

    # --- reads ---------------------------------------------------------------------------

    def positions(self) -> dict[tuple[str, int], int]:
        with self.engine.connect() as conn:
            return {(r.topic, r.partition): r.next_offset for r in conn.execute(select(positions))}

    def list_exceptions(self, query: ExceptionQuery) -> Page:
        conditions: list[ColumnElement[bool]] = []
        c = exceptions.c
        for column, values in ((c.owner, query.owners), (c.type, query.types), (c.state, query.states)):
            if values:
                conditions.append(column.in_(values))
        if query.order_id is not None:
            conditions.append(c.order_id == query.order_id)
        if query.first_seen_before is not None:
            conditions.append(c.first_seen <= query.first_seen_before)
        if query.first_seen_after is not None:
            conditions.append(c.first_seen >= query.first_seen_after)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(exceptions).where(*conditions)).scalar_one()
            rows = conn.execute(select(exceptions).where(*conditions)
                                .order_by(c.first_seen, c.exception_id).limit(query.limit).offset(query.offset))
            return Page([_exception(row) for row in rows], total, query.limit, query.offset)

    def get_exception(self, exception_id: str) -> ExceptionRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(exceptions).where(exceptions.c.exception_id == exception_id)).first()
        return _exception(row) if row is not None else None

    def queues(self, owners: Sequence[str]) -> list[Queue]:
        """Open and retrying exceptions per owner team, and the first-seen time of the oldest."""
        c = exceptions.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.owner, c.state, func.count(), func.min(c.first_seen))
                                .where(c.state.in_(ACTIVE_STATES)).group_by(c.owner, c.state)).all()
        queues = {owner: Queue(owner) for owner in owners}
        for owner, state, count, oldest in rows:
            queue = queues.get(owner, Queue(owner))
            earliest = oldest if queue.oldest_first_seen is None else min(oldest, queue.oldest_first_seen)
            queues[owner] = Queue(owner, queue.open + (count if state == ExceptionState.OPEN else 0),
                                  queue.retrying + (count if state == ExceptionState.RETRYING else 0), earliest)
        return list(queues.values())

    def timeline(self, order_id: str) -> list[TimelineEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(timeline).where(timeline.c.order_id == order_id)
                                .order_by(timeline.c.at, timeline.c.source, timeline.c.seq))
            return [TimelineEntry(**{k: v for k, v in row._mapping.items() if k != "detail_json"},
                                  detail=json.loads(row.detail_json)) for row in rows]

    def order(self, order_id: str) -> OrderSeen | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(orders).where(orders.c.order_id == order_id)).first()
        return OrderSeen(order_id=row.order_id, order_name=row.order_name, at=row.last_at) if row else None

    def orders_changed(self, since: int, until: int | None = None) -> list[OrderSeen]:
        """Orders with anything on their timeline in [since, until], least recently changed first."""
        t = timeline.c
        conditions = [t.at >= since] + ([t.at <= until] if until is not None else [])
        changed = select(t.order_id, func.max(t.at).label("at")).where(*conditions).group_by(t.order_id).subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(select(changed.c.order_id, changed.c.at, orders.c.order_name)
                                .join(orders, orders.c.order_id == changed.c.order_id, isouter=True)
                                .order_by(changed.c.at, changed.c.order_id))
            return [OrderSeen(order_id=r.order_id, order_name=r.order_name, at=r.at) for r in rows]


def _exception(row) -> ExceptionRow:  # type: ignore[no-untyped-def]
    values = {k: v for k, v in row._mapping.items() if k != "detail_json"}
    return ExceptionRow.model_validate({**values, "detail": json.loads(row.detail_json)})


def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the API read while the projection writes; the timeout rides out the writer's lock.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
