"""How long work reports how far it got: one callable that every layer can pass down."""

from collections.abc import Callable

# progress(phase, fraction): phase is a short label ("reference", "train", "score"); fraction in
# [0, 1] or None when unknown. Work calls it often, so it must be cheap.
Progress = Callable[[str, float | None], None]


def no_progress(phase: str, fraction: float | None) -> None:
    """A `Progress` that shows nothing."""
