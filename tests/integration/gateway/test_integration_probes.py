"""Testing an integration's connection and listing a provider's models: asked of an
executor over NATS, answered from the fake providers on 127.0.0.1, credentials never
sent back."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.anthropic_server import MODELS as ANTHROPIC_MODELS
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.cohere_server import MODELS as COHERE_MODELS
from tests.fakes.cohere_server import FakeCohere
from tests.fakes.google_server import MODELS as GEMINI_MODELS
from tests.fakes.google_server import FakeGemini
from tests.fakes.http import FakeHttpServer, Request, Response
from tests.fakes.openai_server import MODELS as OPENAI_MODELS
from tests.fakes.openai_server import FakeOpenAI
from tests.integration.nodes.conftest import (  # noqa: F401 - fake providers on 127.0.0.1
    _anthropic,
    _cohere,
    _gemini,
    _openai,
    allow_loopback,
    fake_anthropic,
    fake_cohere,
    fake_gemini,
    fake_openai,
)
from tests.support.gateway import User, data_of, error_of

pytestmark = pytest.mark.integration


async def _integration(
    client: httpx.AsyncClient, user: User, kind: str, config: dict, credentials: dict
) -> str:
    body = {"name": f"my {kind}", "type": kind, "config": config, "credentials": credentials}
    return data_of(await client.post("/api/integrations", json=body, headers=user.headers), 201)[
        "id"
    ]


async def test_an_openai_integration_is_tested_and_lists_its_models(
    client: httpx.AsyncClient,
    alice: User,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    iid = await _integration(
        client, alice, "openai", {"base_url": fake_openai.base_url}, {"api_key": "sk-good-key"}
    )
    response = await client.post(f"/api/integrations/{iid}/test", headers=alice.headers)
    result = data_of(response)
    assert result["ok"] is True and result["message"] == "connected: 3 models available"
    assert 0 < result["duration_ms"] < 10_000 and "sk-good-key" not in response.text
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer sk-good-key"

    models = data_of(await client.get(f"/api/models?integration_id={iid}", headers=alice.headers))
    assert models["ok"] is True and [m["id"] for m in models["models"]] == sorted(OPENAI_MODELS)

    data_of(
        await client.put(
            f"/api/integrations/{iid}",
            json={"credentials": {"api_key": "wrong"}},
            headers=alice.headers,
        )
    )
    failed = data_of(await client.post(f"/api/integrations/{iid}/test", headers=alice.headers))
    assert failed["ok"] is False and failed["kind"] == "auth", failed
    refused = data_of(await client.get(f"/api/models?integration_id={iid}", headers=alice.headers))
    assert refused["ok"] is False and refused["models"] == []


async def test_anthropic_models_and_the_operators_key(
    client: httpx.AsyncClient,
    alice: User,
    fake_anthropic: FakeAnthropic,  # noqa: F811
    fake_openai: FakeOpenAI,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    iid = await _integration(
        client, alice, "anthropic", {"base_url": fake_anthropic.url}, {"api_key": "sk-ant"}
    )
    models = data_of(await client.get(f"/api/models?integration_id={iid}", headers=alice.headers))
    assert [m["id"] for m in models["models"]] == sorted(ANTHROPIC_MODELS)
    assert models["models"][0]["name"] == "Claude-Haiku-4-5"
    assert fake_anthropic.requests[-1].headers["x-api-key"] == "sk-ant"

    # no integration: the operator's key, sent only to the operator's endpoint
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator")
    operator = data_of(await client.get("/api/models?provider=openai", headers=alice.headers))
    assert operator["ok"] is True and len(operator["models"]) == len(OPENAI_MODELS)
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer sk-operator"
    mystery = await _integration(client, alice, "mystery", {}, {"api_key": "k"})
    path = f"/api/models?integration_id={mystery}"
    unsupported = data_of(await client.get(path, headers=alice.headers))
    assert unsupported["ok"] is False and unsupported["kind"] == "unsupported"
    default = data_of(await client.get("/api/models", headers=alice.headers))
    assert default["models"] == operator["models"]  # openai, as for the AI nodes
    error_of(await client.get("/api/models?provider=../x", headers=alice.headers), 400)


def _answer(request: Request) -> Response:
    if request.headers.get("authorization") != "Bearer t0ken":
        return Response(status=401, body={"error": "who are you"})
    return Response(body={"hello": "there"})


async def test_an_http_integration_is_tested_with_its_credentials(
    client: httpx.AsyncClient,
    alice: User,
    allow_loopback: None,  # noqa: F811
) -> None:
    async with FakeHttpServer(_answer) as server:
        good = await _integration(
            client, alice, "http", {"base_url": server.url}, {"token": "t0ken"}
        )
        bad = await _integration(client, alice, "http", {"base_url": server.url}, {"token": "nope"})
        bare = await _integration(client, alice, "http", {}, {})
        result = data_of(await client.post(f"/api/integrations/{good}/test", headers=alice.headers))
        assert result == {**result, "ok": True, "message": f"{server.url} answered 200"}
        result = data_of(await client.post(f"/api/integrations/{bad}/test", headers=alice.headers))
        assert result["ok"] is False and result["kind"] == "auth"
        result = data_of(await client.post(f"/api/integrations/{bare}/test", headers=alice.headers))
        assert result["ok"] is False and result["kind"] == "unsupported"


async def test_another_users_integration_is_not_found(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    iid = await _integration(client, alice, "http", {"base_url": "https://example.com"}, {})
    for response in (
        await client.post(f"/api/integrations/{iid}/test", headers=bob.headers),
        await client.get(f"/api/models?integration_id={iid}", headers=bob.headers),
        await client.post("/api/integrations/nope/test", headers=alice.headers),
    ):
        error_of(response, 404)


async def test_probes_are_rate_limited_per_user(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    iid = await _integration(client, alice, "http", {}, {})
    path = f"/api/integrations/{iid}/test"
    for _ in range(30):
        assert data_of(await client.post(path, headers=alice.headers))["kind"] == "unsupported"
    limited = error_of(await client.post(path, headers=alice.headers), 429)
    assert limited["code"] == "RATE_LIMITED"
    error_of(await client.get("/api/models?provider=openai", headers=alice.headers), 429)
    other = await _integration(client, bob, "http", {}, {})
    data_of(await client.post(f"/api/integrations/{other}/test", headers=bob.headers))


async def test_gemini_and_cohere_list_their_models(
    client: httpx.AsyncClient,
    alice: User,
    fake_gemini: FakeGemini,  # noqa: F811
    fake_cohere: FakeCohere,  # noqa: F811
) -> None:
    gemini = await _integration(
        client, alice, "google", {"base_url": fake_gemini.base_url}, {"api_key": "g-key"}
    )
    listed = data_of(
        await client.get(f"/api/models?integration_id={gemini}", headers=alice.headers)
    )
    assert [m["id"] for m in listed["models"]] == sorted(GEMINI_MODELS)
    assert fake_gemini.requests[-1].headers["x-goog-api-key"] == "g-key"
    cohere = await _integration(
        client, alice, "cohere", {"base_url": fake_cohere.url}, {"api_key": "c-key"}
    )
    tested = data_of(await client.post(f"/api/integrations/{cohere}/test", headers=alice.headers))
    assert (
        tested["ok"] is True
        and tested["message"] == f"connected: {len(COHERE_MODELS)} models available"
    )
    assert fake_cohere.requests[-1].headers["authorization"] == "Bearer c-key"
