"""Shopify's calculated query cost and the leaky bucket that throttles on it.

Rules from shopify.dev/docs/api/usage/limits (GraphQL Admin API, "Cost
calculation"): scalars and enums cost 0, objects 1, interfaces and unions 1,
connections 2 plus ``first`` (or ``last``) times the cost of their children,
mutations 10. A query may cost at most 1,000 points. "The cost of a query is
the maximum of possible fields selected" (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits),
so a plain list truncated by ``first`` (``Order.refunds(first: 5)``) is
requested at ``first`` times its element's cost, the most it can return.
Every query is charged on its own: reading a long connection page by page
pays for every page. Each shop has a bucket
(``maximumAvailable``) that refills at ``restoreRate`` points per second; a
query costing more than what is left is refused with a ``THROTTLED`` error,
and every answer carries ``extensions.cost`` with ``throttleStatus``.

A query needs its requested cost in the bucket to run; afterwards Shopify
refunds the difference to the actual cost, which counts the objects really
returned (a connection asked for 250 lines that has 3 costs 2 + 3 × its
children). The sandbox does the same, so a client that sizes its waits by the
requested cost is exactly as fast, and no faster, than against Shopify.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    value_from_ast,
)
from graphql.language import FragmentSpreadNode

MAX_QUERY_COST = 1000
MUTATION_COST = 10


REQUESTED = object()  # walk the query alone, as if every connection returned ``first`` elements


def requested_cost(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None) -> int:
    return _document_cost(schema, document, variables or {}, REQUESTED)


def actual_cost(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None,
                data: dict[str, Any] | None) -> int:
    """The cost of what a query returned: connections and lists count the elements present."""
    return _document_cost(schema, document, variables or {}, data)


def _document_cost(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any], data: Any) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    total = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.operation is OperationType.MUTATION:
            total += MUTATION_COST  # the mutation field itself; its payload's selections are free
            continue
        total += _selection_cost(schema, schema.query_type, definition.selection_set, fragments, variables, data)
    return total


def _selection_cost(schema: GraphQLSchema, parent: Any, selection_set: SelectionSetNode | None,
                    fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any], data: Any) -> int:
    if selection_set is None or (data is not REQUESTED and not isinstance(data, dict)):
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(schema, parent, selection, fragments, variables, data)
        elif isinstance(selection, InlineFragmentNode):
            on = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            total += _selection_cost(schema, on, selection.selection_set, fragments, variables, data)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            on = schema.get_type(fragment.type_condition.name.value)
            total += _selection_cost(schema, on, fragment.selection_set, fragments, variables, data)
    return total


def _field_cost(schema: GraphQLSchema, parent: Any, node: FieldNode, fragments: dict[str, FragmentDefinitionNode],
                variables: dict[str, Any], data: Any) -> int:
    name = node.name.value
    if name.startswith("__") or not hasattr(parent, "fields") or name not in parent.fields:
        return 0
    definition = parent.fields[name]
    named = get_named_type(definition.type)
    value = data if data is REQUESTED else data.get(node.alias.value if node.alias else name)
    if is_leaf_type(named) or value is None:
        return 0
    arguments = {a.name.value: value_from_ast(a.value, definition.args[a.name.value].type, variables)
                 for a in node.arguments or () if a.name.value in definition.args}
    size = arguments.get("first") or arguments.get("last") or 0
    if isinstance(named, GraphQLObjectType) and named.name.endswith("Connection"):
        page = _selection_cost(schema, named, node.selection_set, fragments, variables, value)
        if value is not REQUESTED:
            return 2 + page  # the page's lists already counted what came back
        return 2 + size * page  # page: one page element (nodes or edges)
    own = 1 if isinstance(named, GraphQLObjectType) or is_abstract_type(named) else 0
    items = value if isinstance(value, list) else [value]
    cost = sum(own + _selection_cost(schema, named, node.selection_set, fragments, variables, item) for item in items)
    if value is REQUESTED and size and is_list_type(get_nullable_type(definition.type)):
        return size * cost  # a list truncated to ``first``: at most that many elements
    return cost


@dataclass
class Bucket:
    """One shop's leaky bucket of query cost points."""

    maximum: float = 2000.0
    restore_rate: float = 100.0
    clock: Any = time.monotonic
    _available: float = field(default=-1.0)
    _at: float = field(default=0.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _refill(self) -> None:
        now = self.clock()
        if self._available < 0:
            self._available, self._at = self.maximum, now
        self._available = min(self.maximum, self._available + (now - self._at) * self.restore_rate)
        self._at = now

    def take(self, cost: int) -> bool:
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: int) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.maximum, self._available + points)

    def status(self) -> dict[str, float]:
        with self._lock:
            self._refill()
            return {"maximumAvailable": self.maximum, "currentlyAvailable": round(self._available, 1),
                    "restoreRate": self.restore_rate}
