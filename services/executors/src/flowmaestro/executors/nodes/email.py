"""Executor of `email`: one message over SMTP, with text, HTML and uploaded attachments.

The integration's `config` holds `host`, `port`, `security` (`none`, `starttls` or
`tls`), `from_address`, optionally `ca_cert` (PEM, to trust a private CA) and
`message_id_domain`; its credentials `username` and `password`. The `Message-ID` is
derived from the idempotency key, so a receiving system can drop a retried duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flowmaestro.events.catalogue import EmailConfig
from flowmaestro.executors.context import Integration, NodeContext, NodeResult
from flowmaestro.executors.egress import SmtpTarget, open_smtp, smtp_target
from flowmaestro.executors.errors import RetryableNodeError, TerminalNodeError

__all__ = ["check_smtp", "message_id", "run_email"]

_TIMEOUT_S = 30.0


def message_id(idempotency_key: str, domain: str = "flowmaestro.local") -> str:
    """A `Message-ID` stable for one node attempt."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


async def _message(ctx: NodeContext, config: EmailConfig, sender: str, domain: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(config.to)
    if config.cc:
        message["Cc"] = ", ".join(config.cc)
    if config.reply_to:
        message["Reply-To"] = config.reply_to
    message["Subject"] = config.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(ctx.idempotency_key, domain)
    if config.text is not None:
        message.set_content(config.text)
        if config.html is not None:
            message.add_alternative(config.html, subtype="html")
    else:
        message.set_content(config.html or "", subtype="html")
    for file_id in config.attachments:
        uploaded = await ctx.file(file_id)
        maintype, _, subtype = uploaded.content_type.partition("/")
        message.add_attachment(
            uploaded.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=uploaded.name,
        )
    return message


def _tls_context(settings: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=settings.get("ca_cert") or None)
    return context


def _port(settings: dict[str, Any]) -> int:
    return int(settings.get("port") or (465 if settings.get("security") == "tls" else 587))


def _deliver(
    target: SmtpTarget,
    settings: dict[str, Any],
    credentials: dict[str, Any],
    message: EmailMessage,
    to: list[str],
) -> None:
    security = settings.get("security", "starttls")
    smtp = open_smtp(
        target, implicit_tls=security == "tls", context=_tls_context(settings), timeout=_TIMEOUT_S
    )
    with smtp:
        smtp.ehlo()
        if security == "starttls":
            smtp.starttls(context=_tls_context(settings))
            smtp.ehlo()
        if credentials.get("username"):
            smtp.login(str(credentials["username"]), str(credentials.get("password", "")))
        smtp.send_message(message, to_addrs=to)


def _check(target: SmtpTarget, settings: dict[str, Any], credentials: dict[str, Any]) -> None:
    security = settings.get("security", "starttls")
    smtp = open_smtp(
        target, implicit_tls=security == "tls", context=_tls_context(settings), timeout=_TIMEOUT_S
    )
    with smtp:
        smtp.ehlo()
        if security == "starttls":
            smtp.starttls(context=_tls_context(settings))
            smtp.ehlo()
        if credentials.get("username"):
            smtp.login(str(credentials["username"]), str(credentials.get("password", "")))


async def check_smtp(integration: Integration) -> str:
    """Connect to the integration's SMTP server (through the egress policy), greet it and
    log in when it has a username; sends nothing. Returns what was checked."""
    settings = integration.config
    if not settings.get("host"):
        raise TerminalNodeError(
            f"integration {integration.name!r} has no SMTP 'host'", kind="integration"
        )
    target = await smtp_target(str(settings["host"]), _port(settings))
    try:
        await asyncio.to_thread(_check, target, settings, integration.credentials)
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise _smtp_error(exc) from exc
    return f"SMTP server {target.host}:{target.port} accepted the session"


def _smtp_error(exc: Exception) -> Exception:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = max(codes) if codes else None
    if isinstance(exc, smtplib.SMTPAuthenticationError) or (code is not None and code >= 500):
        return TerminalNodeError(f"smtp refused: {exc}", kind="smtp")
    return RetryableNodeError(f"smtp failed: {exc}", kind="smtp")


async def run_email(ctx: NodeContext, config: EmailConfig) -> NodeResult:
    """Build the message and send it to every recipient (to, cc and bcc)."""
    integration: Integration = await ctx.integration(config.integration_id)
    settings = integration.config
    if not settings.get("host"):
        raise TerminalNodeError(
            f"integration {integration.name!r} has no SMTP 'host'", kind="integration"
        )
    sender = config.from_address or settings.get("from_address")
    if not sender:
        raise TerminalNodeError("set 'from_address' on the node or the integration", kind="email")
    domain = str(settings.get("message_id_domain") or "flowmaestro.local")
    message = await _message(ctx, config, str(sender), domain)
    target = await smtp_target(str(settings["host"]), _port(settings))
    recipients = [*config.to, *config.cc, *config.bcc]
    try:
        await asyncio.to_thread(
            _deliver, target, settings, integration.credentials, message, recipients
        )
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise TerminalNodeError(f"smtp TLS: {exc}", kind="smtp") from exc
        raise _smtp_error(exc) from exc
    return NodeResult(output={"message_id": str(message["Message-ID"]), "recipients": recipients})
