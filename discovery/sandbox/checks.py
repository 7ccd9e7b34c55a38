"""Functional checks: does a loss that runs also behave like a preference objective a trainer can use?

Each check fails with its own short reason, worded for the author (an LLM) to act on. The checks
run inside the confined child, so an objective that raises, allocates too much or loops forever only
takes the child down; an exception in the very first call counts as a runtime failure (the code does
not work at all), one in a later check as a failure of that check (it works, but not in bfloat16, say).
"""

import traceback
from collections.abc import Callable
from dataclasses import dataclass

import torch

from discovery.sandbox.probes import (
    BETAS,
    COMPARISON_BETAS,
    FINGERPRINT_ATOL,
    FINGERPRINT_RTOL,
    PROFILE_PAIRS,
    Pairs,
    comparison_batches,
    pairs_with_ratios,
    probe_batches,
    symmetric_pairs,
    training_like_batch,
    typical_pairs,
    wide_pairs,
)
from discovery.sandbox.profiles import PROFILE_BETAS, unit_rows
from discovery.sandbox.verdict import Curves, Probe

SOURCE_FILENAME = "<candidate>"
SIZES = (1, 2, 7, 64)
BATCH = 64
DTYPES = (torch.float32, torch.bfloat16)
_INPUT_NAMES = (
    "policy_chosen_logps",
    "policy_rejected_logps",
    "reference_chosen_logps",
    "reference_rejected_logps",
)


@dataclass
class Rejection(Exception):
    """A check failed: which stage, and why, in one sentence."""

    stage: str
    reason: str


def run_checks(loss: Callable, memory_mb: int, probe: Probe) -> list[float]:
    """Run every functional check on `loss`; return its fingerprint on `probe` or raise `Rejection`."""
    first = typical_pairs(8, seed=1)
    _call(loss, first, torch.float32, BETAS[0], "runtime", "", memory_mb)
    _check_shapes_and_dtype(loss, memory_mb)
    _check_inputs_untouched(loss, memory_mb)
    _check_finite_and_alive(loss, memory_mb)
    _check_small_batches_finite(loss, memory_mb)
    _check_deterministic(loss, memory_mb)
    _check_direction(loss, memory_mb)
    return fingerprint(loss, memory_mb, probe)


def fingerprint(loss: Callable, memory_mb: int, probe: Probe) -> list[float]:
    """Losses and policy gradients on the probe's training-size batches at each beta, as one flat
    list of floats, ending with the batch size: fingerprints measured at another size, or archived
    in the former layout (8 pairs, an even length), never have the same length."""
    values = responses(loss, probe_batches(probe), BETAS, "on the fingerprint probe", memory_mb)
    return [*values, float(probe.batch_pairs)]


def comparison(loss: Callable) -> list[float]:
    """Losses and policy gradients on the batches and betas it is compared with TRL's losses on."""
    return responses(loss, comparison_batches(), COMPARISON_BETAS, "on the comparison probe", 0)


def responses(
    loss: Callable, batches: tuple[Pairs, ...], betas: tuple[float, ...], where: str, memory_mb: int
) -> list[float]:
    """For each batch (float32) and beta: the per-pair losses, then the gradients of their sum with
    respect to each pair's policy chosen and policy rejected log-prob, as one flat list of floats."""
    values: list[float] = []
    for pairs in batches:
        for beta in betas:
            inputs = pairs.cast(torch.float32, policy_grad=True)
            losses = _call_inputs(loss, inputs, beta, "functional", where, memory_mb)
            chosen_grad, rejected_grad = _gradients(losses, inputs)
            for tensor in (losses, chosen_grad, rejected_grad):
                values.extend(float(v) for v in tensor.detach().double())
    return values


def beta_profile(loss: Callable, probe: Probe) -> list[float]:
    """The direction of the policy gradients on the probe's first batch (of the training size) at each
    beta of the profile grid (`profiles.PROFILE_BETAS`), kept for its first `PROFILE_PAIRS` pairs; a
    beta where the objective fails or gives no finite gradient leaves a row of zeros: extreme betas
    are for comparison only, never a reason to reject."""
    batch = probe_batches(probe)[0]
    kept = min(PROFILE_PAIRS, probe.batch_pairs)
    rows = []
    for beta in PROFILE_BETAS:
        inputs = batch.cast(torch.float64, policy_grad=True)
        try:
            chosen, rejected = _gradients(_call_inputs(loss, inputs, beta, "functional", "", 0), inputs)
            rows.append(torch.cat((chosen[:kept], rejected[:kept])).tolist())
        except Rejection:
            rows.append([0.0] * (2 * kept))
    return unit_rows(rows)


def behaviour(loss: Callable, beta: float = 0.1) -> list[float]:
    """The unit vector of the policy gradients on a training-like batch: two objectives whose
    vectors align train alike up to a learning-rate factor (the built-in proposer avoids those)."""
    chosen, rejected, reference_chosen, reference_rejected = training_like_batch()
    inputs = (chosen.clone().requires_grad_(True), rejected.clone().requires_grad_(True))
    losses = _call_inputs(loss, (*inputs, reference_chosen, reference_rejected), beta, "functional", "", 0)
    signature = torch.cat(_gradients(losses, inputs)).double()
    norm = signature.norm()
    return (signature / norm if norm > 0 else signature).tolist()


def batch_coupled(loss: Callable, beta: float = 0.1) -> bool:
    """Whether a pair's loss depends on the other pairs of its batch (a batch mean, variance or
    ranking inside the objective): the losses of the first pairs of a training-like batch, computed
    with the whole batch and with those pairs alone, differ. Such an objective trains differently at
    another batch size, which matters when a retrain's per-device batch is not the search's."""
    batch = training_like_batch(32)
    whole = _call_inputs(loss, batch, beta, "functional", "", 0).detach().double()
    alone = _call_inputs(loss, tuple(t[:8] for t in batch), beta, "functional", "", 0).detach().double()
    if whole.shape != (32,) or alone.shape != (8,):
        return True  # not one loss per pair: the functional checks reject such objectives anyway
    return not torch.allclose(whole[:8], alone, rtol=FINGERPRINT_RTOL, atol=FINGERPRINT_ATOL, equal_nan=True)


DESCRIPTOR_BETA = 0.1
# Scaled margins beta * rho the gradient weight is read at: behind, at zero, well ahead.
_BEHIND, _AHEAD = -8.0, 4.0
_SIDES = (-3.0, -1.0, 0.0, 1.0, 3.0)  # scaled log-ratios each answer takes, independently of the other


def descriptors(loss: Callable) -> list[float] | None:
    """Where the objective sits in the behaviour map (`discovery.population.behaviour`), from its
    gradients alone, each a share in [0, 1]:

    - ahead: the gradient weight |dL/d rho| at a large positive margin against that at zero, as
      w(+4) / (w(+4) + w(0)) (DPO falls to ~0.04, hinge stops at 0, IPO grows to ~0.9);
    - behind: the same at a large negative margin, w(-8) / (w(-8) + w(0)) (DPO saturates at ~2/3,
      IPO and exponential losses grow towards 1, losses that give up on badly ranked pairs fade);
    - sided: how much of the gradient acts on each answer's log-ratio apart from the margin when
      both answers move independently, sum |dL/dpc + dL/dpr| / sum (|dL/dpc| + |dL/dpr|): exactly 0
      for any loss of the margin alone, ~0.3 for APO-zero and KTO, ~0.6 for SPPO and NCA.

    None when a gradient is not finite: such an objective has no place on the map."""
    beta = DESCRIPTOR_BETA
    scaled = torch.tensor([_BEHIND, 0.0, _AHEAD], dtype=torch.float64) / beta
    chosen, rejected = _weights(loss, pairs_with_ratios(scaled / 2, -scaled / 2, seed=11), beta)
    weight = (chosen.abs() + rejected.abs()) / 2
    sides = torch.tensor(_SIDES, dtype=torch.float64) / beta
    chosen_ratio, rejected_ratio = (grid.flatten() for grid in torch.meshgrid(sides, sides, indexing="ij"))
    chosen, rejected = _weights(loss, pairs_with_ratios(chosen_ratio, rejected_ratio, seed=12), beta)
    values = torch.stack(
        (
            _share(weight[2], weight[1]),
            _share(weight[0], weight[1]),
            (chosen + rejected).abs().sum() / (chosen.abs() + rejected.abs()).sum().clamp_min(1e-30),
        )
    )
    return values.tolist() if bool(torch.isfinite(values).all()) else None


def _weights(loss: Callable, pairs: Pairs, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = pairs.cast(torch.float32, policy_grad=True)
    chosen, rejected = _gradients(_call_inputs(loss, inputs, beta, "functional", "", 0), inputs)
    return chosen.double(), rejected.double()


def _share(part: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """part / (part + other); 1/2 where both vanish (no side is favoured)."""
    total = part + other
    return part / total if total > 0 else torch.tensor(0.5, dtype=torch.float64)


def curves(loss: Callable, beta: float, points: int) -> Curves:
    """Loss and d loss / d rho for rho in [-10/beta, +10/beta], on a batch where only the policy's
    chosen log-probability varies (pc = rho, pr = rc = rr = 0), so the margin rho equals pc;
    objectives that mix pairs (batch means, as in KTO) see the whole grid as their batch."""
    rho = torch.linspace(-10 / beta, 10 / beta, points, requires_grad=True)
    zeros = torch.zeros(points)
    losses = _call_inputs(loss, (rho, zeros, zeros, zeros), beta, "functional", "", 0)
    if tuple(losses.shape) != (points,):
        raise Rejection("functional", f"loss returned {tuple(losses.shape)}, expected ({points},)")
    (gradient,) = torch.autograd.grad(losses.sum(), rho, allow_unused=True)
    gradient = torch.zeros(points) if gradient is None else gradient
    return Curves(beta=beta, rho=rho.tolist(), loss=losses.detach().tolist(), gradient=gradient.tolist())


def _check_shapes_and_dtype(loss: Callable, memory_mb: int) -> None:
    for n in SIZES:
        out = _call(
            loss, typical_pairs(n, seed=n), torch.float32, BETAS[0], "functional", f"for N={n}", memory_mb
        )
        if tuple(out.shape) != (n,):
            raise Rejection(
                "functional", f"returned shape {tuple(out.shape)} for N={n} pairs; expected ({n},)"
            )
        if not out.is_floating_point():
            raise Rejection("functional", f"returned dtype {out.dtype}; the loss must be floating point")


def _check_small_batches_finite(loss: Callable, memory_mb: int) -> None:
    """Batch statistics (std, var) can break on one or two pairs even when large batches are fine."""
    for n in SIZES:
        pairs = typical_pairs(n, seed=n)
        out = _call(loss, pairs, torch.float32, BETAS[0], "functional", f"for N={n}", memory_mb)
        _require_finite(out, pairs, "loss", f"for N={n} pairs (typical margins)")


def _check_inputs_untouched(loss: Callable, memory_mb: int) -> None:
    pairs = typical_pairs(BATCH, seed=2)
    inputs = pairs.cast(torch.float32, policy_grad=False)
    originals = [t.clone() for t in inputs]
    _call_inputs(loss, inputs, BETAS[0], "functional", "", memory_mb)
    for name, before, after in zip(_INPUT_NAMES, originals, inputs, strict=True):
        if after.requires_grad or not torch.equal(before, after):
            raise Rejection("functional", f"modifies its input `{name}` in place; inputs must stay untouched")


def _check_finite_and_alive(loss: Callable, memory_mb: int) -> None:
    batches = {
        "typical margins": typical_pairs(BATCH, seed=3),
        "margins from -50 to +50": wide_pairs(BATCH, seed=4),
        "log-probs at -300 and -0.1": wide_pairs(BATCH, seed=5, boundary=True),
    }
    for dtype in DTYPES:
        for beta in BETAS:
            for label, pairs in batches.items():
                where = f"at beta={beta} in {_dtype_name(dtype)} ({label})"
                inputs = pairs.cast(dtype, policy_grad=True)
                losses = _call_inputs(loss, inputs, beta, "functional", where, memory_mb)
                _require_finite(losses, pairs, "loss", where)
                chosen_grad, rejected_grad = _gradients(losses, inputs, where)
                _require_finite(chosen_grad, pairs, "gradient w.r.t. policy_chosen_logps", where)
                _require_finite(rejected_grad, pairs, "gradient w.r.t. policy_rejected_logps", where)
                if not (chosen_grad.any() or rejected_grad.any()):
                    raise Rejection(
                        "functional", f"gradient w.r.t. the policy log-probs is zero everywhere {where}"
                    )


def _check_deterministic(loss: Callable, memory_mb: int) -> None:
    pairs = typical_pairs(BATCH, seed=6)
    first = _call(loss, pairs, torch.float32, BETAS[0], "functional", "", memory_mb)
    second = _call(loss, pairs, torch.float32, BETAS[0], "functional", "", memory_mb)
    if not torch.equal(first, second):
        raise Rejection(
            "functional", "non-deterministic: two calls on identical inputs returned different losses"
        )


def _check_direction(loss: Callable, memory_mb: int) -> None:
    """Averaged over margins from -20 to +20, spread evenly and split evenly between the two answers,
    raising the chosen log-prob must not raise the loss, nor raising the rejected one lower it.

    The grid is symmetric on purpose: objectives with a target margin (IPO, SPPO) pull back beyond it,
    and on a lopsided sample of margins they would look anti-aligned though they train the right way;
    objectives with a local minimum near zero (DiscoPOP) would look so on margins near zero alone."""
    pairs = symmetric_pairs(BATCH, spread=20.0)
    for beta in BETAS:
        inputs = pairs.cast(torch.float32, policy_grad=True)
        losses = _call_inputs(loss, inputs, beta, "functional", "", memory_mb)
        chosen_grad, rejected_grad = (g.double().mean() for g in _gradients(losses, inputs))
        tolerance = 1e-6 * float(chosen_grad.abs() + rejected_grad.abs()) + 1e-12
        if chosen_grad > tolerance:
            raise Rejection(
                "functional",
                f"anti-aligned: raising the chosen log-prob raises the loss on average over margins "
                f"-20..+20 (beta={beta})",
            )
        if rejected_grad < -tolerance:
            raise Rejection(
                "functional",
                f"anti-aligned: raising the rejected log-prob lowers the loss on average over margins "
                f"-20..+20 (beta={beta})",
            )


def _call(loss, pairs: Pairs, dtype, beta: float, stage: str, where: str, memory_mb: int) -> torch.Tensor:
    return _call_inputs(loss, pairs.cast(dtype, policy_grad=True), beta, stage, where, memory_mb)


def _call_inputs(loss, inputs, beta: float, stage: str, where: str, memory_mb: int) -> torch.Tensor:
    """Call the objective; turn anything but a tensor, and any exception, into a `Rejection`."""
    try:
        out = loss(*inputs, beta)
    except MemoryError:
        raise Rejection("runtime", f"ran out of memory (limit {memory_mb} MB)") from None
    except RecursionError:
        raise Rejection("runtime", "recursion too deep") from None
    except Exception as error:
        if "alloc" in str(error) or "out of memory" in str(error):
            raise Rejection("runtime", f"ran out of memory (limit {memory_mb} MB)") from None
        raise Rejection(stage, _join(f"raised {describe(error)}", where)) from None
    if not isinstance(out, torch.Tensor):
        raise Rejection("functional", f"returned {type(out).__name__}, not a tensor of per-pair losses")
    return out


def _gradients(losses: torch.Tensor, inputs, where: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of the summed loss w.r.t. the two policy inputs (zeros where the loss ignores one)."""
    policy = inputs[:2]
    if not losses.requires_grad:
        raise Rejection(
            "functional", _join("the loss does not depend on the policy log-probs (no gradient)", where)
        )
    try:
        grads = torch.autograd.grad(losses.float().sum(), policy, allow_unused=True)
    except Exception as error:
        raise Rejection("functional", _join(f"backward pass raised {describe(error)}", where)) from None
    chosen, rejected = (torch.zeros_like(p) if g is None else g for p, g in zip(policy, grads, strict=True))
    return chosen, rejected


def _require_finite(values: torch.Tensor, pairs: Pairs, what: str, where: str) -> None:
    bad = ~torch.isfinite(values.detach())
    if bad.any():
        index = int(bad.nonzero()[0, 0]) if values.dim() else 0
        value = float(values.detach().reshape(-1)[index]) if values.dim() else float(values)
        margin = float(pairs.margins[index]) if values.dim() and index < len(pairs.margins) else None
        at = f" at margin rho={margin:.1f}" if margin is not None else ""
        raise Rejection("functional", f"{what} is {value}{at} {where}")


def describe(error: BaseException) -> str:
    """`TypeError: message (line N)`, with the line inside the candidate's source when there is one."""
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename == SOURCE_FILENAME
    ]
    message = " ".join(str(error).split())[:200]
    located = f" (line {lines[-1]})" if lines else ""
    return f"{type(error).__name__}: {message}{located}" if message else f"{type(error).__name__}{located}"


def _join(reason: str, where: str) -> str:
    return f"{reason} {where}" if where else reason


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
