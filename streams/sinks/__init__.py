"""What the sink agents run: command executors against the downstream systems, backoff, rate limit."""
