"""The demo's and the broker tests' judge: what every system should hold, from Shopify's final order alone."""
