"""The one place that names editsync's Kafka topics.

Every topic but one is keyed by the Shopify order id as a UTF-8 string (the
numeric id, not the GraphQL gid), so that all records of one order share a
partition and keep their order. ``peoplevox.events.raw`` is keyed by the
Peoplevox sales order number the callback names (streams/web/views.py): a
callback carries no Shopify order id. A ``.vN`` suffix versions a topic's contract; ``.raw``
topics carry unparsed input and are internal to editsync.
"""

from __future__ import annotations

from dataclasses import dataclass

SHOPIFY_WEBHOOKS_RAW = "shopify.webhooks.raw"
ORDERS_EVENTS = "orders.events.v1"
PEOPLEVOX_EVENTS_RAW = "peoplevox.events.raw"
COMMANDS_PEOPLEVOX = "commands.peoplevox.v1"
COMMANDS_INVENTORY = "commands.inventory.v1"
COMMANDS_ERP = "commands.erp.v1"
COMMANDS_SHOPIFY = "commands.shopify.v1"
COMMANDS_RETRY = "commands.retry.v1"
COMMANDS_RESULTS = "commands.results.v1"
EXCEPTIONS = "exceptions.v1"
DEAD_LETTERS = "dlq.v1"


ORDER_KEY = "The Shopify order id, decimal, as UTF-8 text."


@dataclass(frozen=True)
class TopicSpec:
    name: str
    schema: str  # Avro full name of the value schema in schemas/
    doc: str
    key: str = ORDER_KEY  # what the record key is (docs/reference/asyncapi.yaml says it to subscribers)

    @property
    def public(self) -> bool:
        """Other services may subscribe: a versioned contract, not a ``.raw`` topic of unparsed input."""
        return not self.name.endswith(".raw")


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(SHOPIFY_WEBHOOKS_RAW, "io.editsync.ingress.ShopifyWebhookEnvelope",
              "Signed Shopify webhooks exactly as received: body bytes and Shopify headers."),
    TopicSpec(ORDERS_EVENTS, "io.editsync.orders.OrderEvent",
              "Normalised order events; the public contract other services subscribe to."),
    TopicSpec(PEOPLEVOX_EVENTS_RAW, "io.editsync.ingress.PeoplevoxCallback",
              "Peoplevox event-subscription callbacks as received (a hint: re-read before acting).",
              "The Peoplevox sales order number the callback names, as UTF-8 text (empty when it names none)."),
    TopicSpec(COMMANDS_PEOPLEVOX, "io.editsync.commands.Command", "Commands for the Peoplevox sink."),
    TopicSpec(COMMANDS_INVENTORY, "io.editsync.commands.Command", "Commands for the Shopify inventory sink."),
    TopicSpec(COMMANDS_ERP, "io.editsync.commands.Command", "Commands for the ERP sink."),
    TopicSpec(COMMANDS_SHOPIFY, "io.editsync.commands.Command",
              "Commands for the Shopify order sink: the edit lock tag, fulfillments of what the warehouse despatched."),
    TopicSpec(COMMANDS_RETRY, "io.editsync.commands.Command",
              "Commands waiting to be retried (attempt and not_before set); forwarded back when due."),
    TopicSpec(COMMANDS_RESULTS, "io.editsync.commands.CommandResult",
              "What each sink did with a command; fed back into order state."),
    TopicSpec(EXCEPTIONS, "io.editsync.exceptions.OrderException",
              "Anything that needs a person, with its owner (finance, ops, cx)."),
    TopicSpec(DEAD_LETTERS, "io.editsync.dlq.DeadLetter",
              "Input that could not be processed, with the reason and the original bytes.",
              "The failed record's own key (an order id, or a sales order number); none for a signed webhook that "
              "named no order."),
)

BY_NAME: dict[str, TopicSpec] = {spec.name: spec for spec in TOPICS}

#: editsync's own plumbing (JSON values, no contract): inputs of the order-state agent
#: and requests to read Shopify or Peoplevox. Keyed by order id.
ORDER_INPUTS = "editsync.order-inputs"
SHOPIFY_READS = "editsync.shopify-reads"
# Name look-ups (recreate links) have their own queue, so a burst of order reads cannot starve them.
SHOPIFY_LOOKUPS = "editsync.shopify-lookups"
# A sales order its order asks to have read again (a despatch that could not be read), beside the callbacks.
PEOPLEVOX_READS = "editsync.peoplevox-reads"
INTERNAL: tuple[str, ...] = (ORDER_INPUTS, SHOPIFY_READS, SHOPIFY_LOOKUPS, PEOPLEVOX_READS)

#: Facts the fleet shares (JSON, streams/kafka/ledger.py): one partition, compacted, read whole by the
#: worker that needs them. The Peoplevox status subscription the leader made, keyed by event type.
PEOPLEVOX_SUBSCRIPTION = "editsync.peoplevox-subscription"
LEDGERS: tuple[str, ...] = (PEOPLEVOX_SUBSCRIPTION,)

COMMANDS_BY_TARGET = {"PEOPLEVOX": COMMANDS_PEOPLEVOX, "INVENTORY": COMMANDS_INVENTORY, "ERP": COMMANDS_ERP,
                      "SHOPIFY": COMMANDS_SHOPIFY}
