"""The one way a node reaches the network: every outbound connection of every node — HTTP
(with its redirects), provider SDKs, SMTP and PostgreSQL — is resolved once, checked by
the egress policy (`policy`), and made to the checked address.

A unit test scans the executors package and fails when any other module opens a
connection (constructs an HTTP client, an SDK client without `http_client=`, an SMTP
session, a database connection or a socket). Provider SDK clients are in
`egress.providers` and database connections in `egress.postgres`, imported where used so
that an executor loads those libraries only when it needs them.
"""

from flowmaestro.executors.egress.http import MAX_REDIRECTS, HttpReply, http_client, send
from flowmaestro.executors.egress.policy import (
    ALLOW_ENV,
    ALLOW_ENV_OLD,
    DENY_ENV,
    EGRESS_KIND,
    allowed_networks,
    check_address,
    protect_nats,
    resolve,
)
from flowmaestro.executors.egress.smtp import SmtpTarget, open_smtp, smtp_target

__all__ = [
    "ALLOW_ENV",
    "ALLOW_ENV_OLD",
    "DENY_ENV",
    "EGRESS_KIND",
    "MAX_REDIRECTS",
    "HttpReply",
    "SmtpTarget",
    "allowed_networks",
    "check_address",
    "http_client",
    "open_smtp",
    "protect_nats",
    "resolve",
    "send",
    "smtp_target",
]
