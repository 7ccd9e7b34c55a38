"""Loss and gradient of an objective against the margin rho, drawn in the terminal next to DPO's.

The curves are what a researcher reads first about a loss: where it is flat, where it pushes, and
how hard. The sandbox computes them (`discovery.sandbox.checks.curves` says on which batch).
"""

import threading

import plotext

from discovery.objectives import PAPER_BETA, load_objective
from discovery.sandbox import Curves, Validator
from discovery.untrusted import visible

POINTS = 201


class CurveSource:
    """Curves computed in the sandbox, so no candidate code runs in this (trusted, interactive)
    process; each is remembered by (code, beta), and the sandbox starts on first use. One source may
    serve several threads (the browser draws a report in one while it shows candidates)."""

    def __init__(self) -> None:
        self._validator: Validator | None = None
        self._known: dict[tuple[str, float], Curves] = {}
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()  # held inside `_lock` too: a second lock, not a re-entry

    def curves(self, source: str, beta: float = PAPER_BETA) -> Curves:
        """Loss and gradient for rho in [-10/beta, +10/beta]; raises `CurvesUnavailable`."""
        key = (source, beta)
        with self._lock:
            if key not in self._known:
                self._known[key] = self.validator.curves(source, beta, POINTS)
            return self._known[key]

    @property
    def validator(self) -> Validator:
        """The sandbox worker, started on first use; other figures of the same code can share it."""
        with self._start_lock:
            if self._validator is None:
                self._validator = Validator()
            return self._validator

    def dpo(self, beta: float = PAPER_BETA) -> Curves:
        return self.curves(load_objective("dpo").source, beta)

    def close(self) -> None:
        with self._lock:
            if self._validator is not None:
                self._validator.close()
                self._validator = None

    def __enter__(self) -> "CurveSource":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def clipped(values: list[float], reference: list[float]) -> tuple[list[float], bool]:
    """Clamp `values` to DPO's range widened twice its span on each side, so a steep tail (an
    exponential at large negative margins) does not flatten everything else; non-finite values too."""
    low, high = min(reference), max(reference)
    span = (high - low) or 1.0
    low, high = low - 2 * span, high + 2 * span
    clamped = [min(max(v, low), high) if v == v else high for v in values]
    return clamped, clamped != values


def plot(name: str, candidate: Curves, reference: Curves, width: int = 100, height: int = 16) -> str:
    """The two panels (loss, gradient) as text with ANSI colours, candidate `name` and DPO in each.

    The name is drawn made `visible`: the text is read back as ANSI, so an escape sequence in a name
    would be obeyed there."""
    figure = plotext.figure
    figure.clear()
    figure.theme("simple")
    figure.plot_size(width, height)
    figure.subplots(1, 2)
    panels = (
        ("loss", candidate.loss, reference.loss),
        ("d loss / d rho", candidate.gradient, reference.gradient),
    )
    for column, (title, values, dpo_values) in enumerate(panels, start=1):
        panel = figure.subplot(1, column)
        shown, was_clipped = clipped(values, dpo_values)
        panel.title(f"{title} (clipped)" if was_clipped else title)
        panel.label(f"rho (beta = {candidate.beta:g})")
        for label, ys in ((visible(name, one_line=True), shown), ("dpo", dpo_values)):
            signal = panel.signal(candidate.rho, ys)
            signal.label(label)
            signal.lines()
            panel.draw(signal)
        # One legend is enough; top right is where a loss is usually flat and low.
        if column == 1:
            top = max(max(shown), max(dpo_values))
            panel.legend(x=candidate.rho[-1], y=top, ha="right", va="top", relative=True)
        else:
            panel.legend(active=False)
    return figure.build().string()
