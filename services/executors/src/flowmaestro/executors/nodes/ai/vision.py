"""The `vision` executor: image understanding through any chat provider, and image
generation through OpenAI-compatible image APIs."""

from __future__ import annotations

import base64

from flowmaestro.events.catalogue.ai import VisionConfig
from flowmaestro.executors.context import NodeContext, NodeResult
from flowmaestro.executors.errors import TerminalNodeError
from flowmaestro.executors.nodes.ai.access import Access, at_provider_endpoint, open_access
from flowmaestro.executors.nodes.ai.chat import ChatRequest, ImagePart, Message
from flowmaestro.executors.nodes.ai.llm import result_output
from flowmaestro.executors.nodes.ai.media import fetch_url, media_bytes, output_file_name
from flowmaestro.executors.nodes.ai.providers import adapter, chat

__all__ = ["run_vision"]


async def _image(ctx: NodeContext, config: VisionConfig, access: Access) -> ImagePart:
    # OpenAI's and Anthropic's own services fetch URLs themselves (Gemini reads only its own
    # file URIs); any other server could reach inside its network, so the node fetches the
    # image itself, through the egress policy, and sends the bytes.
    if config.image_url and config.provider != "google" and at_provider_endpoint(access):
        return ImagePart(url=config.image_url, media_type=config.media_type)
    data = await media_bytes(ctx, config.image_url, config.image_file, config.image_base64)
    return ImagePart(data=base64.b64encode(data).decode(), media_type=config.media_type)


async def run_vision(ctx: NodeContext, config: VisionConfig) -> NodeResult:
    """Describe the image (streaming tokens), or generate one into the file store."""
    purpose = "chat" if config.operation == "analyze" else "image"
    access = await open_access(
        ctx, config.provider, config.model, config.integration_id, config.base_url, purpose
    )
    if config.operation == "analyze":
        message = Message(
            role="user", text=config.prompt, images=[await _image(ctx, config, access)]
        )
        request = ChatRequest(messages=[message], max_tokens=config.max_tokens)
        result = await chat(access, request, ctx.stream)
        return NodeResult(output=result_output(result, result.usage))
    if config.provider not in ("openai", "openai_compatible"):
        raise TerminalNodeError(
            f"image generation is offered for OpenAI-compatible providers, not {config.provider}",
            kind="invalid_config",
        )
    openai_chat = await adapter("openai_chat")

    async with openai_chat.client(access) as sdk, openai_chat.sdk_failures(access.provider):
        response = await sdk.images.generate(
            model=access.model,
            prompt=config.prompt,
            size=config.size,
            n=1,  # type: ignore[arg-type]
        )
    image = (response.data or [None])[0]
    if image is None:
        raise TerminalNodeError("the provider returned no image", kind="bad_response")
    if image.b64_json:
        data = base64.b64decode(image.b64_json)
    elif image.url:
        data = await fetch_url(image.url, ctx.command.timeout_seconds)
    else:
        raise TerminalNodeError("the provider returned an empty image", kind="bad_response")
    name = await ctx.files.put(output_file_name(ctx, "png"), data)
    output = {"file": name, "bytes": len(data), "model": access.model}
    if image.url:
        output["url"] = image.url
    if image.revised_prompt:
        output["revised_prompt"] = image.revised_prompt
    return NodeResult(output=output)
