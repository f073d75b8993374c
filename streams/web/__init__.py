"""HTTP endpoints on the Faust web server."""
