"""Commands and results survive the Avro round trip whole, so a result can rebuild its command."""

from decimal import Decimal

from streams.core.commands import Command, OpenFulfillmentOrders, RecordPayment
from streams.core.details import Outcome, ResultDetail
from streams.core.model import Target
from streams.kafka import topics
from streams.kafka.avro_codec import AvroCodec
from streams.kafka.records import command_from_record, command_record, result_from_record, result_record

COMMAND = Command(command_id="erp:record_payment:1:t1", order_id="1", order_version=2, target=Target.ERP,
                  kind="record_payment", idempotency_key="erp:record_payment:1:t1",
                  payload=RecordPayment(external_id="1", transaction_id="t1", amount=Decimal("5.00"), currency="EUR"))


def round_trip(topic: str, record: dict) -> dict:
    codec = AvroCodec()
    return codec.decode(topic, codec.encode(topic, record))


def test_a_command_record_gives_back_the_command():
    assert command_from_record(round_trip(topics.COMMANDS_ERP, command_record(COMMAND, 5))) == COMMAND


def test_a_result_carries_its_command_and_detail():
    result = result_from_record(round_trip(topics.COMMANDS_RESULTS,
                                           result_record(COMMAND, Outcome.APPLIED, None, ResultDetail(erp_id="7"), 1, 5)))
    assert result.command == COMMAND and result.detail.erp_id == "7" and result.outcome == "APPLIED"


def test_a_result_from_before_v1_1_still_names_its_command():
    record = round_trip(topics.COMMANDS_RESULTS, result_record(COMMAND, Outcome.FAILED, "down", ResultDetail(), 6, 5))
    record.update(idempotency_key=None, payload_json=None)
    command = result_from_record(record).command
    assert command.command_id == command.idempotency_key == COMMAND.command_id and command.payload is None


def test_a_payload_without_fields_comes_back_as_itself_not_as_none():
    opened = Command(command_id="shopify:open_fulfillment_orders:1:1", order_id="1", order_version=2,
                     target=Target.SHOPIFY, kind="open_fulfillment_orders",
                     idempotency_key="shopify:open_fulfillment_orders:1:1", payload=OpenFulfillmentOrders())
    assert command_from_record(round_trip(topics.COMMANDS_SHOPIFY, command_record(opened, 5))) == opened
    result = round_trip(topics.COMMANDS_RESULTS, result_record(opened, Outcome.APPLIED, None, ResultDetail(), 1, 5))
    assert result_from_record(result).command == opened
