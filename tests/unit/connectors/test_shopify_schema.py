"""Shopify's real Admin schema accepts what Shopify accepts and rejects what it rejects."""

from sandboxes.shopify.schema import API_VERSION, admin_schema, check_document

ORDER_QUERY = """
query Order($id: ID!) {
  order(id: $id) {
    id name updatedAt cancelledAt
    lineItems(first: 50) { nodes { id sku quantity currentQuantity variant { id inventoryItem { id } } } }
  }
}
"""


def test_vendored_version_is_the_one_documented():
    assert API_VERSION == "2026-10"
    assert admin_schema().query_type.fields["order"]


def test_a_real_order_query_validates():
    document, errors = check_document(ORDER_QUERY)
    assert document is not None and errors == []


def test_an_unknown_field_is_rejected_as_shopify_would():
    _, errors = check_document("query { order(id: \"gid://shopify/Order/1\") { id warehouseStatus } }")
    (error,) = errors
    assert error.message.startswith("Cannot query field 'warehouseStatus' on type 'Order'.")


def test_a_mutation_missing_its_required_input_is_rejected():
    _, errors = check_document("mutation { inventoryAdjustQuantities { userErrors { message } } }")
    assert errors and "input" in errors[0].message


def test_the_idempotent_directive_exists_in_this_version():
    assert admin_schema().get_directive("idempotent") is not None


def test_syntax_errors_are_reported_not_raised():
    document, errors = check_document("query { order(id: ")
    assert document is None and "Syntax Error" in errors[0].message
