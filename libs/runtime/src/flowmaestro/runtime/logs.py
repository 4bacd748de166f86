"""Structured logging to standard error, so standard output stays for command results."""

from __future__ import annotations

import logging
import os
import sys

import structlog

__all__ = ["configure_logging"]


def configure_logging(default_level: str = "INFO") -> None:
    """Log key=value lines to stderr at `FLOWMAESTRO_LOG_LEVEL` (or `default_level`)."""
    level = getattr(
        logging, os.environ.get("FLOWMAESTRO_LOG_LEVEL", default_level).upper(), logging.INFO
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
