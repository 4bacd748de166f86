"""`email` sends over SMTP to a real SMTP server on 127.0.0.1, plain and with STARTTLS."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from flowmaestro.executors.nodes.email import message_id
from flowmaestro.runtime.files import FileStore
from tests.fakes.smtp import FakeSmtp
from tests.support.engine import run
from tests.support.workflows import one_node, register_integration

pytestmark = pytest.mark.integration


async def test_starttls_login_html_text_and_attachment(
    engine: Client, allow_loopback: None
) -> None:
    stored = await FileStore(engine.jetstream()).upload(b"a,b\n1,2\n", "numbers.csv", "text/csv")
    with FakeSmtp(tls=True, username="mailer", password="s3cret") as smtp:
        integration = await register_integration(
            engine,
            "smtp",
            {"username": "mailer", "password": "s3cret"},
            {
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "starttls",
                "ca_cert": smtp.cert_pem,
                "from_address": "bot@example.com",
            },
        )
        data = {
            "integration_id": integration,
            "to": ["ann@example.com"],
            "bcc": ["audit@example.com"],
            "subject": "Report for ${source.output}",
            "text": "See attached.",
            "html": "<p>See <b>attached</b>.</p>",
            "attachments": [stored.id],
        }
        state, _ = await run(engine, one_node("email", data, upstream="May"))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    (mail,) = smtp.received
    assert mail.sender == "bot@example.com"
    assert mail.recipients == ["ann@example.com", "audit@example.com"]
    message = mail.message
    assert message["Subject"] == "Report for May" and "Bcc" not in message
    assert message["Message-ID"] == message_id(f"{state.execution_id}:node:1")
    assert state.outputs["result"]["message_id"] == message["Message-ID"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and "See attached." in text.get_content()
    assert html is not None and "<b>attached</b>" in html.get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "numbers.csv"
    assert attachment.get_content() == "a,b\n1,2\n"


async def test_wrong_password_fails_terminally(engine: Client, allow_loopback: None) -> None:
    with FakeSmtp(tls=True, username="mailer", password="s3cret") as smtp:
        integration = await register_integration(
            engine,
            "smtp",
            {"username": "mailer", "password": "wrong"},
            {"host": "127.0.0.1", "port": smtp.port, "ca_cert": smtp.cert_pem},
        )
        data = {
            "integration_id": integration,
            "to": ["ann@example.com"],
            "subject": "hi",
            "text": "hi",
            "from_address": "bot@example.com",
        }
        state, _ = await run(engine, one_node("email", data))
    assert state.status is ExecutionStatus.FAILED
    assert state.error is not None and state.error.kind == "smtp"
    assert state.nodes["node"].attempt == 1 and smtp.received == []


async def test_plain_smtp_without_tls(engine: Client, allow_loopback: None) -> None:
    with FakeSmtp() as smtp:
        integration = await register_integration(
            engine, "smtp", {}, {"host": "127.0.0.1", "port": smtp.port, "security": "none"}
        )
        data = {
            "integration_id": integration,
            "to": ["ann@example.com"],
            "subject": "plain",
            "html": "<i>only html</i>",
            "from_address": "bot@example.com",
        }
        state, _ = await run(engine, one_node("email", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert smtp.received[0].message.get_content_type() == "text/html"


async def test_implicit_tls(engine: Client, allow_loopback: None) -> None:
    with FakeSmtp(implicit_tls=True) as smtp:
        integration = await register_integration(
            engine,
            "smtp",
            {},
            {"host": "127.0.0.1", "port": smtp.port, "security": "tls", "ca_cert": smtp.cert_pem},
        )
        data = {
            "integration_id": integration,
            "to": ["ann@example.com"],
            "subject": "over TLS",
            "text": "hi",
            "from_address": "bot@example.com",
        }
        state, _ = await run(engine, one_node("email", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert smtp.received[0].message["Subject"] == "over TLS"
