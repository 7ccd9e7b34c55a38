"""A quick in-process look at a built-in draft before it is offered: does it run, point the right
way, and behave differently from what the archive already has?

Only code assembled from objectives that already passed the sandbox reaches this point, and the
static gate runs again on compilation. The sandbox and the archive's fingerprint stay the judges
(through `check`); this screen just keeps the built-in proposer from spending its checks on
drafts that are plainly broken or plainly a re-spelling of a parent.
"""

from dataclasses import dataclass
from functools import cache

import torch

from discovery.objectives.compile import compile_objective

_PAIRS = 256
_BETA = 0.1
# Gradients this aligned (cosine) mean the same training signal up to a learning-rate factor.
_SAME_BEHAVIOUR = 0.9999


@dataclass(frozen=True)
class Screen:
    """The verdict: `reason` is None when the draft may be offered; `behaviour` is its gradient signature."""

    reason: str | None
    behaviour: torch.Tensor | None = None


@cache
def _batch() -> tuple[torch.Tensor, ...]:
    """Fixed log-probabilities with margins from tiny to large, like a batch in training."""
    generator = torch.Generator().manual_seed(0)
    reference_chosen = -(40 + 60 * torch.rand(_PAIRS, generator=generator))
    reference_rejected = -(40 + 60 * torch.rand(_PAIRS, generator=generator))
    spread = torch.exp(torch.empty(_PAIRS).uniform_(-1.0, 3.0, generator=generator))
    policy_chosen = reference_chosen + spread * torch.randn(_PAIRS, generator=generator)
    policy_rejected = reference_rejected + spread * torch.randn(_PAIRS, generator=generator)
    return policy_chosen, policy_rejected, reference_chosen, reference_rejected


def screen(source: str) -> Screen:
    """Compile and run the draft on a fixed batch; reject it if it misbehaves."""
    try:
        function = compile_objective(source)
        chosen, rejected, reference_chosen, reference_rejected = _batch()
        chosen = chosen.clone().requires_grad_(True)
        rejected = rejected.clone().requires_grad_(True)
        losses = function(chosen, rejected, reference_chosen, reference_rejected, _BETA)
        if not isinstance(losses, torch.Tensor) or losses.shape != (_PAIRS,):
            return Screen("does not return one loss per pair")
        losses.sum().backward()
    except Exception as error:  # any failure of generated code is a verdict, not a crash
        return Screen(f"fails on a test batch: {type(error).__name__}: {error}")
    assert chosen.grad is not None and rejected.grad is not None
    behaviour = torch.cat([chosen.grad, rejected.grad])
    if not (torch.isfinite(losses).all() and torch.isfinite(behaviour).all()):
        return Screen("gives non-finite losses or gradients")
    if chosen.grad.mean() >= 0 or rejected.grad.mean() <= 0:
        return Screen("does not favour the chosen answer over the rejected one on average")
    norm = behaviour.norm()
    if norm == 0:
        return Screen("has zero gradient")
    return Screen(None, behaviour / norm)


def same_behaviour(first: torch.Tensor, second: torch.Tensor) -> bool:
    """Whether two gradient signatures train alike (equal up to a positive scale)."""
    return float(first @ second) > _SAME_BEHAVIOUR
