"""Numbered SQL migrations of the read model."""
