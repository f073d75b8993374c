"""What every layer above the core may use: settings, the clock, logging, retry delays."""
