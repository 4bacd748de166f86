"""Each new node type, run inside a real workflow on a real nats-server."""
