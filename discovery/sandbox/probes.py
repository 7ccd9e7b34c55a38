"""Inputs the functional checks and the fingerprint feed an objective, and fingerprint comparison.

Batches look like what the trainer passes: summed sequence log-probs between -300 and -0.1 for
policy and reference alike, with log-ratio margins rho = (pc - rc) - (pr - rr) chosen by the caller
(typically a few units, at the extremes +/-50). Everything is built in float64 from a seed and
then cast, so two objectives always see the same numbers.

What decides a claim about an objective is measured on batches it cannot tell from training: an
objective can branch on its batch (`.shape`, `numel()`), so one that computes DPO at the size it
trains at and something else on a probe of 8 pairs would otherwise be judged on what it never
trains with. The fingerprint (the duplicate check) and the beta profile are therefore measured on
`probe_batches`: of the run's training batch size, with realistic contents drawn from a seed of the
run (the same for every candidate of a run, unknown to its author); the comparison with TRL's
losses adds batches of several training sizes to the fixed small ones.
"""

import math
from dataclasses import dataclass

import torch

from discovery.sandbox.verdict import Probe

LOGP_MIN, LOGP_MAX = -300.0, -0.1
BETAS = (0.05, 0.5)
COMPARISON_BETAS = (0.05, 0.2, 1.0)
FINGERPRINT_PAIRS = 8
PROFILE_PAIRS = 12  # pairs of the probe batch whose gradients the beta profile keeps
TRAINING_SIZES = (16, 32, 64)  # batch sizes of the comparison with TRL's losses, besides 8
# Tolerances for "the same objective": float32 re-spellings (softplus(-z) vs -logsigmoid(z)) agree to ~1e-7.
FINGERPRINT_RTOL, FINGERPRINT_ATOL = 1e-4, 1e-6


@dataclass(frozen=True)
class Pairs:
    """One batch of the four log-prob tensors, plus the margins they were built from (for messages)."""

    policy_chosen: torch.Tensor
    policy_rejected: torch.Tensor
    reference_chosen: torch.Tensor
    reference_rejected: torch.Tensor
    margins: torch.Tensor  # float64, what rho is in exact arithmetic

    def cast(self, dtype: torch.dtype, policy_grad: bool) -> tuple[torch.Tensor, ...]:
        """Fresh copies of the inputs in `dtype`; the policy ones are leaves requiring grad if asked."""
        policy = [t.to(dtype).requires_grad_(policy_grad) for t in (self.policy_chosen, self.policy_rejected)]
        return (*policy, self.reference_chosen.to(dtype), self.reference_rejected.to(dtype))


def make_pairs(margins: torch.Tensor, seed: int, boundary: bool = False) -> Pairs:
    """Pairs with the given margins; `boundary` pins every log-prob it can to -300 or -0.1."""
    generator = torch.Generator().manual_seed(seed)
    margins = margins.to(torch.float64)
    share = torch.rand(margins.shape[0], generator=generator, dtype=torch.float64)
    return _pairs(margins * share, -margins * (1 - share), margins, generator, boundary)


def pairs_with_ratios(chosen_ratio: torch.Tensor, rejected_ratio: torch.Tensor, seed: int) -> Pairs:
    """Pairs whose policy moved the chosen and the rejected answer by these log-ratios, at references
    drawn in range: unlike `make_pairs`, both answers may move the same way."""
    chosen_ratio, rejected_ratio = chosen_ratio.to(torch.float64), rejected_ratio.to(torch.float64)
    generator = torch.Generator().manual_seed(seed)
    return _pairs(chosen_ratio, rejected_ratio, chosen_ratio - rejected_ratio, generator, boundary=False)


def _pairs(
    chosen_ratio: torch.Tensor,
    rejected_ratio: torch.Tensor,
    margins: torch.Tensor,
    generator: torch.Generator,
    boundary: bool,
) -> Pairs:
    """Reference log-probs placed so that policy and reference both stay within [-300, -0.1]."""
    n = margins.shape[0]
    if boundary:
        position = torch.arange(n, dtype=torch.float64).remainder(2)
        positions = (position, 1 - position)
    else:
        positions = tuple(torch.rand(n, generator=generator, dtype=torch.float64) for _ in range(2))
    references = []
    for ratio, where in zip((chosen_ratio, rejected_ratio), positions, strict=True):
        low = torch.clamp(LOGP_MIN - ratio, min=LOGP_MIN)
        high = torch.clamp(LOGP_MAX - ratio, max=LOGP_MAX)
        references.append(low + where * (high - low))
    reference_chosen, reference_rejected = references
    return Pairs(
        policy_chosen=reference_chosen + chosen_ratio,
        policy_rejected=reference_rejected + rejected_ratio,
        reference_chosen=reference_chosen,
        reference_rejected=reference_rejected,
        margins=margins,
    )


def typical_pairs(n: int, seed: int, spread: float = 5.0) -> Pairs:
    """`n` pairs with margins uniform in [-spread, spread], as early in training."""
    generator = torch.Generator().manual_seed(seed + 7919)
    margins = (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * spread
    return make_pairs(margins, seed)


def symmetric_pairs(n: int, spread: float) -> Pairs:
    """`n` pairs with margins evenly spread over [-spread, spread], each split evenly between the
    chosen and the rejected answer, around mid-range log-probs: a batch with no lean of its own."""
    margins = torch.linspace(-spread, spread, n, dtype=torch.float64)
    reference = torch.full((n,), -60.0, dtype=torch.float64)
    return Pairs(
        policy_chosen=reference + margins / 2,
        policy_rejected=reference - margins / 2,
        reference_chosen=reference.clone(),
        reference_rejected=reference.clone(),
        margins=margins,
    )


def wide_pairs(n: int, seed: int, boundary: bool = False) -> Pairs:
    """`n` pairs with margins evenly spread over [-50, 50], the extremes of a long run."""
    return make_pairs(torch.linspace(-50.0, 50.0, n, dtype=torch.float64), seed, boundary=boundary)


def fingerprint_pairs() -> Pairs:
    """The fixed probe set: a few pairs with distinct margins across the range where objectives differ."""
    margins = torch.tensor([-12.0, -4.0, -1.5, -0.3, 0.2, 1.0, 3.5, 10.0], dtype=torch.float64)
    assert margins.shape[0] == FINGERPRINT_PAIRS
    return make_pairs(margins, seed=20240611)


def comparison_batches() -> tuple[Pairs, ...]:
    """The batches an objective is compared with TRL's built-in losses on (`discovery.training.trl_losses`):
    the fixed probe, margins out to +/-50, two batches where the policy moved both answers the same
    way (both up, both down), so that batch statistics such as KTO's KL estimate take both signs,
    and realistic batches of the sizes training uses (`TRAINING_SIZES`), so that an objective that
    computes one loss on 8 pairs and another on a training batch is not called the first."""
    rising = torch.linspace(0.5, 6.0, 8, dtype=torch.float64)
    mixed = torch.tensor([3.0, -1.0, 2.5, 0.5, 4.0, 1.5, -0.5, 2.0], dtype=torch.float64)
    return (
        fingerprint_pairs(),
        wide_pairs(8, seed=3),
        pairs_with_ratios(rising, mixed, seed=4),  # both answers up on average
        pairs_with_ratios(-mixed.flip(0) - 1.5, -rising - 2, seed=5),  # both down
        *(realistic_pairs(n, seed=n) for n in TRAINING_SIZES),
    )


def realistic_pairs(n: int, seed: int) -> Pairs:
    """`n` pairs like a batch in training: reference log-probs between -100 and -40, and policy
    log-ratios whose spread varies from pair to pair (e^-1 to e^3), so margins run from tiny to large.
    Drawn in float32, so that the float32 inputs are exactly the drawn values."""
    generator = torch.Generator().manual_seed(seed)
    reference_chosen = -(40 + 60 * torch.rand(n, generator=generator))
    reference_rejected = -(40 + 60 * torch.rand(n, generator=generator))
    spread = torch.exp(torch.empty(n).uniform_(-1.0, 3.0, generator=generator))
    policy_chosen = reference_chosen + spread * torch.randn(n, generator=generator)
    policy_rejected = reference_rejected + spread * torch.randn(n, generator=generator)
    exact = [t.double() for t in (policy_chosen, policy_rejected, reference_chosen, reference_rejected)]
    return Pairs(*exact, margins=(exact[0] - exact[2]) - (exact[1] - exact[3]))


def training_like_batch(n: int = 256) -> tuple[torch.Tensor, ...]:
    """Fixed float32 log-probabilities with margins from tiny to large, like a batch in training:
    the batch a candidate's behaviour (its gradient signature) is measured on."""
    return realistic_pairs(n, seed=0).cast(torch.float32, policy_grad=False)


def probe_batches(probe: Probe) -> tuple[Pairs, ...]:
    """The batches the fingerprint and the beta profile are measured on: `probe.batches` batches of
    the run's training batch size with realistic contents, each drawn from its own seed derived from
    the probe's."""
    return tuple(realistic_pairs(probe.batch_pairs, probe.seed * 1009 + k + 1) for k in range(probe.batches))


def same_objective(a: list[float], b: list[float]) -> bool:
    """Whether two fingerprints agree within tolerance, i.e. the objectives are one written twice."""
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=FINGERPRINT_RTOL, abs_tol=FINGERPRINT_ATOL)
        for x, y in zip(a, b, strict=True)
    )
