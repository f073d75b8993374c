"""Shopify's Admin GraphQL schema, API version 2026-10, as Shopify publishes it.

``admin_2026-10.json.gz`` is Shopify's own introspection result, shipped in
the ISC-licensed ``@shopify/dev-mcp`` npm package (licence in
``LICENSE.shopify-schema``). Validating every document against it means the
sandbox rejects any query or mutation real Shopify would reject as invalid.

graphql-core 3.3's schema validator objects to a few deprecations in this
schema (an implementation field deprecated where its interface field is not).
Those are the only schema errors tolerated; anything else still fails.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from pathlib import Path

from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_client_schema, parse, validate
from graphql.type import validate_schema

API_VERSION = "2026-10"
SCHEMA_FILE = Path(__file__).with_name(f"admin_{API_VERSION}.json.gz")
_TOLERATED = re.compile(
    r"^Interface field \S+ is not deprecated, so implementation field \S+ must not be deprecated\.$")


class SchemaProblem(RuntimeError):
    """The vendored schema has an error other than the known deprecation mismatches."""


@functools.cache
def admin_schema() -> GraphQLSchema:
    introspection = json.loads(gzip.decompress(SCHEMA_FILE.read_bytes()))
    schema = build_client_schema(introspection["data"])
    problems = [error.message for error in validate_schema(schema) if not _TOLERATED.match(error.message)]
    if problems:
        raise SchemaProblem("; ".join(problems[:5]))
    # graphql-core caches the schema check here; an empty list means "checked, usable".
    schema._validation_errors = []
    return schema


def check_document(source: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
    """Parse and validate a document against the Admin schema, as Shopify would before running it."""
    try:
        document = parse(source)
    except GraphQLError as error:
        return None, [error]
    return document, validate(admin_schema(), document)
