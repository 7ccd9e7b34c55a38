"""How long work reports how far it got: one callable that every layer can pass down, and the logger
that carries progress as plain lines."""

import logging
from collections.abc import Callable

# progress(phase, fraction): phase is a short label ("reference", "train", "score"); fraction in
# [0, 1] or None when unknown. Work calls it often, so it must be cheap.
Progress = Callable[[str, float | None], None]

# Progress lines and warnings meant for the user (batch logs, --log-file), apart from the libraries'
# loggers; the command decides where they go (`discovery.ui.log_lines.progress_logging`).
progress_log = logging.getLogger("discover")


def no_progress(phase: str, fraction: float | None) -> None:
    """A `Progress` that shows nothing."""
