"""The Shopify sandbox: Admin GraphQL on Shopify's real schema, over a store of its own."""
