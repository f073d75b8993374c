"""The part of SuiteQL the sandbox answers: ``SELECT [DISTINCT] cols FROM table WHERE col = value [AND ...]``.

SuiteQL runs through REST as ``POST /services/rest/query/v1/suiteql`` with
``Prefer: transient`` and the query in the body's ``q`` ("Using SuiteQL with
SuiteTalk REST Web Services", section_158394344595; "Executing SuiteQL
Queries Through REST Web Services", section_157909186990). Results are a
collection page (``links``, ``count``, ``hasMore``, ``items``, ``offset``,
``totalResults``; "Collection Paging"), each row's columns named in lower
case with string values. Anything outside the subset below is refused, not
guessed at: stricter than NetSuite, never kinder. Strings are single-quoted
with ``''`` for a quote, as in SQL-92, on which SuiteQL is based.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<symbol>[,=*]))")


class QueryError(ValueError):
    """A query the sandbox cannot run; the message follows NetSuite's search error wording."""


@dataclass
class Table:
    columns: frozenset[str]
    rows: list[dict[str, str]] = field(default_factory=list)


def run(query: str, tables: dict[str, Table]) -> list[dict[str, str]]:
    tokens = _tokens(query)
    position = 0

    def take(kind: str | None = None, word: str | None = None) -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise QueryError("Invalid search query. Unexpected end of query.")
        token = tokens[position]
        if (kind and token[0] != kind) or (word and token[1].upper() != word):
            raise QueryError(f"Invalid search query. Unexpected token {token[1]!r}; this sandbox runs "
                             "SELECT [DISTINCT] columns FROM table WHERE column = value [AND ...] only.")
        position += 1
        return token

    take("word", "SELECT")
    distinct = position < len(tokens) and tokens[position][1].upper() == "DISTINCT"
    position += distinct
    columns = [take("word")[1].lower()]
    while position < len(tokens) and tokens[position][1] == ",":
        position += 1
        columns.append(take("word")[1].lower())
    take("word", "FROM")
    table = take("word")[1].lower()
    if table not in tables:
        raise QueryError(f"Invalid search query. Record '{table}' was not found.")
    conditions: list[tuple[str, str]] = []
    take("word", "WHERE")
    while True:
        column = take("word")[1].lower()
        take("symbol", "=")
        kind, literal = tokens[position] if position < len(tokens) else ("", "")
        if kind not in ("string", "number"):
            raise QueryError("Invalid search query. A condition compares a column with a literal.")
        position += 1
        conditions.append((column, literal[1:-1].replace("''", "'") if kind == "string" else literal))
        if position == len(tokens):
            break
        take("word", "AND")
    for column in [*columns, *(c for c, _ in conditions)]:
        if column not in tables[table].columns:
            raise QueryError(f"Invalid search query. Field '{column}' for record '{table}' was not found.")
    selected = [{c: row.get(c, "") for c in columns} for row in tables[table].rows
                if all(row.get(column) == value for column, value in conditions)]
    return _unique(selected) if distinct else selected


def _tokens(query: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(query.rstrip()):
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            raise QueryError(f"Invalid search query. Cannot read the query at {query[position:position + 20]!r}.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unique(rows: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    seen, unique = set(), []
    for row in rows:
        key = tuple(sorted(row.items()))
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique
