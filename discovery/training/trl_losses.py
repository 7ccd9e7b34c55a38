"""Whether an objective is one of TRL's built-in loss types, decided on numbers, not on source text.

TRL's losses live inside `DPOTrainer._compute_loss`, with no callable per loss type, so
`trl_builtin_loss` runs that code on given log-probs. That needs TRL (seconds to import) and
`discover show` must stay quick, so TRL's figures are computed once into `trl_losses.json` beside
this module (`python -m discovery.training.trl_losses`; a test fails when the installed TRL computes
anything else) and `match` only reads that table. The objective's figures come from the sandbox
(`Validator.comparison`), since running its code is the sandbox's job.

What is compared (`discovery.sandbox.probes.comparison_batches`): four batches of 8 pairs whose four
log-probs all vary (margins from -50 to +50; in two of them the policy moved both answers the same
way, so that batch statistics take both signs), and three realistic batches of the sizes training
uses (16, 32 and 64 pairs: an objective can branch on its batch size, and one that is TRL's sigmoid
on 8 pairs but a hinge on 32 trains as a hinge), at beta 0.05, 0.2 and 1. `discover show` says so
beside its claim (`TrlTable.checked_on`). On each batch and beta:
the mean loss, and the gradients of the summed loss with respect to each pair's policy chosen and
rejected log-prob, all in float32 as in training. The objective's figures must equal c times TRL's,
for one c > 0 throughout, within rtol 1e-4 and atol 1e-6 (the fingerprint's tolerances: float32
re-spellings of one loss agree far closer). c = 1 is the same loss. Another c is reported as such:
the same direction at every step, but not the same training, since the step grows with c wherever
gradient clipping or plain SGD sees it. An added constant is not allowed: it changes every logged
loss, though not the training.

Completion lengths: TRL's `ipo`, `sigmoid_norm` and `sft` average over each answer's tokens, which
an objective never sees (its inputs are summed log-probs). They are compared twice: with unequal,
realistic lengths (3 to 150 tokens), and with one-token answers, where a match means "the same
formula, applied by TRL to per-token averages": the two train differently.
"""

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

TABLE_FILE = "trl_losses.json"
TABLE_PATH = Path(__file__).with_name(TABLE_FILE)

# The configurations compared, in the order a match is reported: TRL 1.16's loss types at their
# defaults (exo_pair needs label smoothing: the EXO paper's 1e-3; robust's default 0 is sigmoid),
# then f-DPO's divergences with the sigmoid loss. TRL 1.16's sigmoid ignores label_smoothing, so
# conservative DPO (cDPO) is no configuration of it and has no row here.
CONFIGURATIONS: tuple[dict[str, Any], ...] = (
    {"loss_type": "sigmoid"},
    {"loss_type": "hinge"},
    {"loss_type": "ipo"},
    {"loss_type": "discopop"},
    {"loss_type": "exo_pair", "label_smoothing": 1e-3},
    {"loss_type": "nca_pair"},
    {"loss_type": "robust", "label_smoothing": 0.1},
    {"loss_type": "bco_pair"},
    {"loss_type": "sppo_hard"},
    {"loss_type": "aot"},
    {"loss_type": "aot_unpaired"},
    {"loss_type": "apo_zero"},
    {"loss_type": "apo_down"},
    {"loss_type": "sft"},
    {"loss_type": "sigmoid_norm"},
    {"loss_type": "sigmoid", "f_divergence_type": "forward_kl"},
    {"loss_type": "sigmoid", "f_divergence_type": "js_divergence"},
    {"loss_type": "sigmoid", "f_divergence_type": "alpha_divergence", "f_alpha_divergence_coef": 0.5},
)
# Completion lengths in tokens of the chosen and the rejected answers: unequal, as in real data.
LENGTHS = ((12, 40, 7, 95, 23, 3, 150, 31), (30, 9, 64, 17, 120, 5, 44, 2))
RTOL, ATOL = 1e-4, 1e-6  # the fingerprint's own: float32 re-spellings of one loss agree far closer
FACTOR_RTOL = 1e-3  # a fitted factor this close to 1 is 1


class TrlLoss(BaseModel):
    """One TRL configuration and its figures on each comparison batch at each beta: [mean loss,
    d/d policy chosen (per pair), d/d policy rejected (per pair)], with realistic lengths and with
    one-token answers."""

    config: dict[str, Any]
    realistic: list[list[float]]
    one_token: list[list[float]] | None = None  # None: the same figures (the loss ignores lengths)

    @property
    def call(self) -> str:
        """How a TRL user asks for it."""
        return "DPOConfig(" + ", ".join(f"{key}={value!r}" for key, value in self.config.items()) + ")"


class TrlTable(BaseModel):
    """Every compared configuration's figures on the sandbox's comparison batches."""

    trl_version: str
    batch_sizes: list[int]
    betas: list[float]
    losses: list[TrlLoss]

    def checked_on(self) -> str:
        """What a claim was decided on, for the reader of `discover show`."""
        sizes = sorted(set(self.batch_sizes))
        betas = ", ".join(f"{beta:g}" for beta in self.betas)
        return (
            f"checked on {len(self.batch_sizes)} batches of {sizes[0]} to {sizes[-1]} pairs "
            f"({_listed([str(n) for n in sizes[1:]])} pairs like training) at beta {betas}"
        )


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class TrlMatch(BaseModel):
    """The first TRL configuration the objective matches, and how."""

    loss_type: str
    call: str  # e.g. "DPOConfig(loss_type='hinge')"
    factor: float  # objective = factor x TRL's loss
    per_token_only: bool  # equal only with one-token answers: TRL averages over tokens, the objective sums
    trl_version: str

    def sentence(self) -> str:
        """What `discover show` prints after "TRL: "."""
        name = f"loss_type={self.loss_type!r} of TRL {self.trl_version}"
        if self.per_token_only:
            return (
                f"{name} ({self.call}) is the same formula on per-token averages: TRL divides each "
                "answer's log-ratio by its length in tokens, this objective does not, so the two train "
                "differently"
            )
        if self.factor == 1.0:
            return f"equals {name}: {self.call} trains it in plain TRL"
        return (
            f"equals {self.factor:.4g} x {name} ({self.call}): the same direction at every step, a step "
            f"{self.factor:.4g} times as large wherever gradient clipping or plain SGD sees the scale"
        )


def load_table() -> TrlTable:
    """The committed table (package data)."""
    text = resources.files(__package__).joinpath(TABLE_FILE).read_text()
    return TrlTable.model_validate_json(text)


def match(responses: list[float], table: TrlTable | None = None) -> TrlMatch | None:
    """The first TRL configuration whose figures the objective's `responses` (from
    `Validator.comparison`) give, preferring a true match to a one-token-only one; None when none does."""
    table = table or load_table()
    figures = _figures(responses, table)
    if figures is None:
        return None
    for per_token_only in (False, True):
        for loss in table.losses:
            reference = loss.one_token if per_token_only else loss.realistic
            if reference is None:
                continue
            factor = _proportional(figures, _flat(reference))
            if factor is not None:
                return TrlMatch(
                    loss_type=loss.config["loss_type"],
                    call=loss.call,
                    factor=factor,
                    per_token_only=per_token_only,
                    trl_version=table.trl_version,
                )
    return None


def _figures(responses: list[float], table: TrlTable) -> list[float] | None:
    """[mean loss, chosen gradients, rejected gradients] per batch and beta, from the sandbox's layout
    (per batch and beta: the per-pair losses, then the two gradients); None if the layout differs."""
    figures: list[float] = []
    start = 0
    for pairs in table.batch_sizes:
        for _ in table.betas:
            block = responses[start : start + 3 * pairs]
            if len(block) != 3 * pairs:
                return None
            figures += [math.fsum(block[:pairs]) / pairs, *block[pairs:]]
            start += 3 * pairs
    return figures if start == len(responses) else None


def _flat(figures: list[list[float]]) -> list[float]:
    return [value for row in figures for value in row]


def _proportional(values: list[float], reference: list[float]) -> float | None:
    """c > 0 with values = c x reference within the tolerances (1.0 when close to 1), else None."""
    norm = math.fsum(r * r for r in reference)
    if len(values) != len(reference) or norm == 0 or not all(map(math.isfinite, values)):
        return None
    factor = math.fsum(v * r for v, r in zip(values, reference, strict=True)) / norm
    if factor <= 0:
        return None
    if abs(factor - 1) <= FACTOR_RTOL:
        factor = 1.0
    close = all(
        abs(v - factor * r) <= ATOL + RTOL * abs(factor * r) for v, r in zip(values, reference, strict=True)
    )
    return factor if close else None


def compute_table() -> TrlTable:
    """Run TRL's own loss code for every configuration on the comparison batches (needs torch + TRL)."""
    import torch
    import trl
    from trl import DPOConfig

    from discovery.sandbox.probes import COMPARISON_BETAS, comparison_batches
    from discovery.training.trainer import trl_builtin_loss

    # The objective's inputs and precision exactly: float32 (`alpha_divergence` takes no other)
    batches = [pairs.cast(torch.float32, policy_grad=False) for pairs in comparison_batches()]

    def figures(config: dict[str, Any], one_token: bool) -> list[list[float]]:
        rows = []
        for batch in batches:
            pairs = batch[0].shape[0]
            if one_token:
                lengths = (torch.ones(pairs), torch.ones(pairs))
            else:
                lengths = tuple(torch.tensor([n[i % len(n)] for i in range(pairs)]) for n in LENGTHS)
            for beta in COMPARISON_BETAS:
                arguments = DPOConfig(output_dir="unused", use_cpu=True, bf16=False, beta=beta, **config)
                policy = [t.clone().requires_grad_(True) for t in batch[:2]]
                loss = trl_builtin_loss(arguments, (*policy, *batch[2:]), lengths)
                # the sandbox's gradients are those of the summed per-pair losses
                chosen, rejected = torch.autograd.grad(loss * pairs, policy)
                rows.append([loss.item(), *chosen.tolist(), *rejected.tolist()])
        return rows

    losses = []
    for config in CONFIGURATIONS:
        realistic, one_token = figures(config, one_token=False), figures(config, one_token=True)
        same = _proportional(_flat(one_token), _flat(realistic)) == 1.0
        losses.append(TrlLoss(config=config, realistic=realistic, one_token=None if same else one_token))
    return TrlTable(
        trl_version=trl.__version__,
        batch_sizes=[batch[0].shape[0] for batch in batches],
        betas=list(COMPARISON_BETAS),
        losses=losses,
    )


def render(table: TrlTable) -> str:
    """The table as JSON, one line per figure row, each float32 value in the 9 digits that keep it."""

    def rows(figures: list[list[float]] | None) -> str:
        if figures is None:
            return "null"
        return "[\n" + ",\n".join(json.dumps([float(f"{v:.9g}") for v in row]) for row in figures) + "]"

    entries = [
        f'{{"config": {json.dumps(loss.config)},\n"realistic": {rows(loss.realistic)},\n'
        f'"one_token": {rows(loss.one_token)}}}'
        for loss in table.losses
    ]
    head = table.model_dump(exclude={"losses"})
    return json.dumps(head)[:-1] + ', "losses": [\n' + ",\n".join(entries) + "]}\n"


def main() -> None:
    """Write the table (run after a TRL upgrade, or a change of the comparison batches)."""
    TABLE_PATH.write_text(render(compute_table()))


if __name__ == "__main__":
    main()
