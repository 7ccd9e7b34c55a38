"""Loss and gradient of an objective against the margin rho, drawn in the terminal next to DPO's.

The curves are what a researcher reads first about a loss: where it is flat, where it pushes, and
how hard. They are computed on a batch where only the policy's chosen log-probability varies
(pc = rho, pr = rc = rr = 0), so the margin rho equals pc; objectives that mix pairs (batch means,
as in KTO) see the whole grid as their batch.
"""

from dataclasses import dataclass

import plotext
import torch

from discovery.objectives import PAPER_BETA, Objective, load_objective

POINTS = 201


class CurveError(ValueError):
    """The objective could not be evaluated on the grid (rejected by the gate, raised, wrong shape)."""


@dataclass(frozen=True)
class Curves:
    """Per-pair loss and its derivative d loss / d rho on a grid of margins."""

    name: str
    beta: float
    rho: list[float]
    loss: list[float]
    gradient: list[float]


def compute_curves(objective: Objective, beta: float = PAPER_BETA, points: int = POINTS) -> Curves:
    """Evaluate `objective` (compiled through the static gate) for rho in [-10/beta, +10/beta]."""
    try:
        loss_fn = objective.compile()
        rho = torch.linspace(-10 / beta, 10 / beta, points, requires_grad=True)
        zeros = torch.zeros(points)
        losses = loss_fn(rho, zeros, zeros, zeros, beta)
        if not isinstance(losses, torch.Tensor) or losses.shape != (points,):
            shape = tuple(losses.shape) if isinstance(losses, torch.Tensor) else type(losses).__name__
            raise CurveError(f"loss returned {shape}, expected ({points},)")
        (gradient,) = torch.autograd.grad(losses.sum(), rho, allow_unused=True)
    except CurveError:
        raise
    except Exception as error:  # the objective's own code failed: say how, keep the rest of the view
        raise CurveError(f"{type(error).__name__}: {error}") from error
    if gradient is None:
        gradient = torch.zeros(points)
    return Curves(objective.name, beta, rho.tolist(), losses.detach().tolist(), gradient.tolist())


def dpo_curves(beta: float = PAPER_BETA) -> Curves:
    return compute_curves(load_objective("dpo"), beta)


def _clipped(values: list[float], reference: list[float]) -> tuple[list[float], bool]:
    """Clamp `values` to DPO's range widened twice its span on each side, so a steep tail (an
    exponential at large negative margins) does not flatten everything else; non-finite values too."""
    low, high = min(reference), max(reference)
    span = (high - low) or 1.0
    low, high = low - 2 * span, high + 2 * span
    clamped = [min(max(v, low), high) if v == v else high for v in values]
    return clamped, clamped != values


def plot(candidate: Curves, reference: Curves, width: int = 100, height: int = 16) -> str:
    """The two panels (loss, gradient) as text with ANSI colours, candidate and DPO in each."""
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
        shown, clipped = _clipped(values, dpo_values)
        panel.title(f"{title} (clipped)" if clipped else title)
        panel.label(f"rho (beta = {candidate.beta:g})")
        for label, ys in ((candidate.name, shown), ("dpo", dpo_values)):
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
