"""The `audio` executor: speech to text and text to speech through OpenAI-compatible
audio APIs; spoken audio is kept in the file store."""

from __future__ import annotations

from flowmaestro.events.catalogue.ai import AudioConfig
from flowmaestro.executors.context import NodeContext, NodeResult
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.nodes.ai.access import open_access
from flowmaestro.executors.nodes.ai.media import media_bytes, output_file_name
from flowmaestro.executors.nodes.ai.providers import adapter

__all__ = ["run_audio"]


async def run_audio(ctx: NodeContext, config: AudioConfig) -> NodeResult:
    """Transcribe the audio, or speak `text` into a file."""
    if config.provider not in ("openai", "openai_compatible"):
        raise TerminalNodeError(
            f"audio is offered for OpenAI-compatible providers, not {config.provider}",
            kind="invalid_config",
        )
    access = await open_access(
        ctx,
        config.provider,
        config.model,
        config.integration_id,
        config.base_url,
        purpose=config.operation,
    )
    if config.operation == "transcribe":
        data = await media_bytes(ctx, config.audio_url, config.audio_file, config.audio_base64)
        name = (config.audio_file or config.audio_url or "audio.mp3").rsplit("/", 1)[-1]
        openai_chat = await adapter("openai_chat")

        async with openai_chat.client(access) as sdk, openai_chat.sdk_failures(access.provider):
            transcript = await sdk.audio.transcriptions.create(
                model=access.model,
                file=(name, data),
                language=config.language or openai_chat.openai.omit,
            )
        output = {"text": transcript.text, "model": access.model}
        if config.language:
            output["language"] = config.language
        return NodeResult(output=output)
    openai_chat = await adapter("openai_chat")

    async with openai_chat.client(access) as sdk, openai_chat.sdk_failures(access.provider):
        response = await sdk.audio.speech.create(
            model=access.model,
            voice=config.voice,
            input=config.text,
            response_format=config.format,
        )
        audio = await response.aread()
    name = await ctx.files.put(output_file_name(ctx, config.format), audio)
    return NodeResult(
        output={"file": name, "format": config.format, "bytes": len(audio), "model": access.model}
    )
