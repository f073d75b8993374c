"""The composition root: settings to a running worker (broker, sandboxes, topics, the Faust app, its agents,
sinks, web and inbox, supervision) and the command line. Nothing imports it."""
