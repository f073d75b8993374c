"""Sandbox servers that follow the real Shopify, Peoplevox and ERP APIs, for tests and the demo."""
