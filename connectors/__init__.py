"""Clients for Shopify Admin GraphQL, Peoplevox, inventory and the ERP, each behind a small typed interface."""
