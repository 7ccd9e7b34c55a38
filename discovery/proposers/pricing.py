"""A rough cost estimate for an LLM exchange, from a small table of public list prices.

Prices are USD per million tokens (input, output) as the providers listed them in 2025; they
change, so the figure is an estimate shown next to the token counts, never a bill. Models not in
the table (local servers, newer models) get no estimate rather than a wrong one.
"""

import re

_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4": (30.0, 60.0),
    "gpt-4-turbo": (10.0, 30.0),
    "gpt-4o": (2.50, 10.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.40),
    "o3": (2.0, 8.0),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
}
# A dated snapshot ("gpt-4o-2024-08-06", "gpt-4-0613") costs what its family costs.
_SNAPSHOT = re.compile(r"^(?P<family>.+?)(?:-\d{4}-\d{2}-\d{2}|-\d{4})?$")


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Estimated USD for one exchange, or None when the model's price is unknown."""
    key = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" as routers spell it
    match = _SNAPSHOT.match(key)
    prices = _PER_MILLION.get(key) or (_PER_MILLION.get(match["family"]) if match else None)
    if prices is None:
        return None
    return (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000
