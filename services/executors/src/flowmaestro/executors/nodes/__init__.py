"""Executor implementations, one module per family of node types."""
