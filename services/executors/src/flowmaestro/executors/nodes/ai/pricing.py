"""Estimated cost of a call from its token usage, by model family (USD per million tokens).

The figures are list prices at the time of writing; unknown and local models cost None.
"""

from __future__ import annotations

__all__ = ["estimate_cost"]

_PRICES: tuple[tuple[str, float, float], ...] = (
    # Longest prefixes first: the first match wins.
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1", 2.00, 8.00),
    ("o4-mini", 1.10, 4.40),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-haiku", 1.00, 5.00),
    ("claude-sonnet", 3.00, 15.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-opus", 15.00, 75.00),
    ("gemini-2.0-flash", 0.10, 0.40),
    ("gemini-1.5-flash", 0.075, 0.30),
    ("gemini-1.5-pro", 1.25, 5.00),
    ("command-r-plus", 2.50, 10.00),
    ("command-r", 0.15, 0.60),
    ("text-embedding-3-small", 0.02, 0.0),
    ("text-embedding-3-large", 0.13, 0.0),
)


def estimate_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """USD for the tokens, or None when the model's price is unknown."""
    name = model.lower().rsplit("/", 1)[-1]
    for prefix, per_in, per_out in _PRICES:
        if name.startswith(prefix):
            return round((input_tokens * per_in + output_tokens * per_out) / 1_000_000, 8)
    return None
