"""The `vision` and `audio` nodes: image understanding and generation, speech to text and
text to speech, with files kept in the file store."""

from __future__ import annotations

import base64

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from flowmaestro.events.names import owned_file_name
from flowmaestro.runtime.files import FileStore
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.base import Reply
from tests.fakes.http import FakeHttpServer, Response
from tests.fakes.openai_server import PNG, FakeOpenAI
from tests.support.ai import one_node, run_watching

pytestmark = pytest.mark.integration

PNG_B64 = base64.b64encode(PNG).decode()


async def test_vision_describes_a_base64_image_with_anthropic(
    engine: Client, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.script(Reply(text="A single pixel."))
    data = {
        "provider": "anthropic",
        "base_url": fake_anthropic.url,
        "prompt": "What is this?",
        "image_base64": PNG_B64,
    }
    state, _, chunks = await run_watching(engine, one_node("vision", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"]["text"] == "A single pixel."
    assert "".join(chunks) == "A single pixel."
    content = fake_anthropic.requests[0].json()["messages"][0]["content"]
    assert content[0]["type"] == "image" and content[0]["source"]["data"] == PNG_B64


async def test_vision_reads_a_stored_file_and_fetches_urls_for_a_server_not_openais_own(
    engine: Client, fake_openai: FakeOpenAI
) -> None:
    """The fake stands for a server inside the operator's network: it gets the image's
    bytes, never a URL it could fetch from inside."""
    upload = await FileStore(engine.jetstream()).upload(PNG, "pixel.png", "image/png")
    async with FakeHttpServer(lambda _r: Response(body=PNG)) as images:
        for source in ({"image_file": upload.id}, {"image_url": f"{images.url}/a.png"}):
            data = {"base_url": fake_openai.base_url, **source}
            state, _, _ = await run_watching(engine, one_node("vision", data))
            assert state.status is ExecutionStatus.COMPLETED, state.error
        assert [r.path for r in images.requests] == ["/a.png"]
    first, second = (r.json()["messages"][0]["content"][1] for r in fake_openai.requests)
    assert first["image_url"]["url"] == f"data:image/png;base64,{PNG_B64}"
    assert second["image_url"]["url"] == f"data:image/png;base64,{PNG_B64}"


async def test_vision_generates_an_image_into_the_file_store(
    engine: Client, fake_openai: FakeOpenAI
) -> None:
    data = {"base_url": fake_openai.base_url, "operation": "generate", "prompt": "a cat"}
    state, _, _ = await run_watching(engine, one_node("vision", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["revised_prompt"] == "a cat!"
    assert await FileStore(engine.jetstream()).get(owned_file_name(None, output["file"])) == PNG
    assert fake_openai.requests[0].headers["idempotency-key"].endswith(":ai:1")


async def test_audio_speaks_text_into_the_file_store(
    engine: Client, fake_openai: FakeOpenAI
) -> None:
    data = {
        "base_url": fake_openai.base_url,
        "operation": "speak",
        "text": "Hello ${inputs.name}",
        "voice": "nova",
    }
    state, _, _ = await run_watching(
        engine, one_node("audio", data, {"name": "string"}), {"name": "Ada"}
    )
    assert state.status is ExecutionStatus.COMPLETED, state.error
    output = state.outputs["result"]
    assert output["format"] == "mp3" and output["file"].endswith(".mp3")
    assert (
        await FileStore(engine.jetstream()).get(owned_file_name(None, output["file"]))
        == b"FAKEAUDIO:Hello Ada"
    )
    assert fake_openai.requests[0].json()["voice"] == "nova"


async def test_audio_transcribes_base64_audio(engine: Client, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(Reply(text="hello world"))
    audio = base64.b64encode(b"RIFF-fake-wave-data").decode()
    data = {"base_url": fake_openai.base_url, "audio_base64": audio, "language": "en"}
    state, _, _ = await run_watching(engine, one_node("audio", data))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"] == {
        "text": "hello world",
        "model": "whisper-1",
        "language": "en",
    }
    (request,) = fake_openai.requests
    assert b"RIFF-fake-wave-data" in request.body
    assert request.headers["content-type"].startswith("multipart/form-data")
