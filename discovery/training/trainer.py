"""The TRL trainer that optimises any objective, for tiny CPU models and 7B models alike.

TRL 1.16's `DPOTrainer` hard-codes its losses inside `_compute_loss`; the supported way in is to
override `compute_loss`. The override keeps TRL's forward pass (its fused LM head returns
per-token log-probs without materialising logits; small logits are held whole), reads the
reference log-probs that TRL precomputed into the dataset (or computes them with TRL's own
`compute_ref_log_probs`), and hands the four summed log-prob vectors to the objective. Everything
else (data collation, distributed launch, DeepSpeed, logging, checkpoints) is TRL's and
accelerate's.

`trl_builtin_loss` runs TRL's own loss code (`DPOTrainer._compute_loss`) on given log-probs, so
that an objective can be compared with TRL's built-in loss types (`discovery.training.trl_losses`).

This is the only module that touches TRL names that are not public API; `TRL_PRIVATE_NAMES` lists
them so that a test fails loudly, naming the missing one, when a TRL upgrade removes any.
"""

import copy
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import torch
from trl import DPOConfig, DPOTrainer
from trl.trainer.utils import global_then_local_main_first

from discovery.objectives import LossFunction, Objective
from discovery.training.truncation import truncate_pair

# (owner, attribute): TRL internals this module relies on.
TRL_PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("trl.DPOTrainer", "_prepare_dataset"),
    ("trl.DPOTrainer", "_compute_loss"),
    ("trl.DPOTrainer instance", "_metrics"),
    ("trl.DPOTrainer instance", "_total_train_tokens"),
    ("trl.DPOTrainer instance", "_tp_size"),
    ("trl.trainer.utils", "global_then_local_main_first"),
)


# A batch's logits up to this many elements (256 MB in float32) are held whole, larger ones never.
MATERIALISED_LOGITS_MAX = 64 * 2**20


class ObjectiveDPOTrainer(DPOTrainer):
    """A `DPOTrainer` whose per-pair loss is `objective(pc, pr, rc, rr, beta)` instead of a built-in.

    It takes every argument `DPOTrainer` takes, and beta comes from the `DPOConfig` as for TRL's own
    losses. This is also the public trainer (`from discovery import ObjectiveDPOTrainer`): in a
    user's own script the objective runs in that script's process, not in the sandbox, because the
    user chose to trust the file. Only the static gate checks it, when an `Objective` is compiled.
    """

    def __init__(
        self,
        *args: Any,
        objective: Objective | LossFunction,
        max_prompt_length: int | None = None,
        **kwargs: Any,
    ) -> None:
        """`objective` is an `Objective` (from `load_objective`) or its compiled loss function;
        `max_prompt_length` applies the prompt truncation of TRL before 1.0 (see `truncation`)."""
        self.objective = objective.compile() if isinstance(objective, Objective) else objective
        self.max_prompt_length = max_prompt_length
        super().__init__(*args, **kwargs)

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        """Tokenize as TRL does, then cut long prompts before TRL's own length rule can drop pairs."""
        if not self.max_prompt_length or args.max_length is None:
            return super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        untruncated = copy.copy(args)
        untruncated.max_length = None
        dataset = super()._prepare_dataset(dataset, processing_class, untruncated, dataset_name)
        with global_then_local_main_first():
            return dataset.map(
                truncate_pair,
                fn_kwargs={"max_length": args.max_length, "max_prompt_length": self.max_prompt_length},
                num_proc=args.dataset_num_proc,
                desc=f"Truncating {dataset_name} prompts to {self.max_prompt_length} tokens",
            )

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """Mean objective loss over the batch, whose rows are all chosen completions, then all rejected."""
        mode = "train" if self.model.training else "eval"
        policy_chosen, policy_rejected = self._policy_log_probs(model, inputs)
        if self.precompute_ref_logps:
            reference_chosen, reference_rejected = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
        else:
            reference_chosen, reference_rejected = self.compute_ref_log_probs(self.ref_model or model, inputs)

        loss = objective_loss(
            self.objective, policy_chosen, policy_rejected, reference_chosen, reference_rejected, self.beta
        )
        self._record_metrics(mode, policy_chosen, policy_rejected, reference_chosen, reference_rejected)
        if mode == "train":  # TRL's token count, which throughput figures are computed from
            tokens = self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum().item()
            self._total_train_tokens += tokens // self._tp_size
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
        return (loss, {}) if return_outputs else loss

    def _policy_log_probs(self, model, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed completion log-probs of the policy, split into (chosen, rejected).

        TRL's fused LM head never holds the batch's logits: it recomputes them tile by tile, which
        a 7B model's vocabulary needs and a tiny model pays for (a quarter of the embedded task's
        training time). Logits small enough to hold are materialised instead; the log-probs are
        the same up to rounding (a test compares the two paths)."""
        model_kwargs = {
            key: value
            for key, value in inputs.items()
            if key not in {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}
        }
        input_ids, completion_mask = inputs["input_ids"], inputs["completion_mask"]
        if input_ids.numel() * model.config.vocab_size <= MATERIALISED_LOGITS_MAX:
            logits = model(**model_kwargs, use_cache=False).logits
            # Prompt-learning PEFT prepends virtual tokens; keep the positions of the real ones
            logits = logits[:, -input_ids.size(1) : -1].float()
            per_token = logits.log_softmax(-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
            return (per_token * completion_mask[:, 1:]).sum(dim=1).chunk(2, dim=0)
        labels = input_ids.masked_fill(completion_mask == 0, -100)
        outputs = model(**model_kwargs, labels=labels, use_cache=False, fused_lm_head=True)
        per_token = outputs.log_probs[:, -(completion_mask.size(1) - 1) :]
        return per_token.sum(dim=1).chunk(2, dim=0)

    @torch.no_grad()
    def _record_metrics(
        self, mode, policy_chosen, policy_rejected, reference_chosen, reference_rejected
    ) -> None:
        """The implicit-reward metrics TRL users read in their logs, under TRL's names."""
        chosen_rewards = self.beta * (policy_chosen - reference_chosen)
        rejected_rewards = self.beta * (policy_rejected - reference_rejected)
        gather = self.accelerator.gather_for_metrics
        chosen_rewards, rejected_rewards = gather(chosen_rewards), gather(rejected_rewards)
        metrics = self._metrics[mode]
        metrics["rewards/chosen"].append(chosen_rewards.mean().item())
        metrics["rewards/rejected"].append(rejected_rewards.mean().item())
        metrics["rewards/accuracies"].append((chosen_rewards > rejected_rewards).float().mean().item())
        metrics["rewards/margins"].append((chosen_rewards - rejected_rewards).mean().item())
        metrics["logps/chosen"].append(gather(policy_chosen.detach()).mean().item())
        metrics["logps/rejected"].append(gather(policy_rejected.detach()).mean().item())


class ObjectiveFailure(ValueError):
    """The objective returned something a trainer cannot use (not a finite float tensor of shape (N,))."""


def objective_loss(
    objective: LossFunction,
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """The mean objective loss, with the objective kept a pure function of its four inputs.

    It gets fresh copies: leaves with no autograd history, so changing them in place cannot reach
    the reference log-probs or TRL's metrics, and no graph leads from them to the model's weights.
    Its output must be a plain floating tensor of shape (N,), finite and carrying a gradient. The
    gradient then reaches the model through the chain rule: the returned loss has the objective's
    value and, as its gradient, exactly the upstream gradients the objective gave the policy inputs.
    """
    policy = [tensor.detach().clone().requires_grad_(True) for tensor in (policy_chosen, policy_rejected)]
    references = [tensor.detach().clone() for tensor in (reference_chosen, reference_rejected)]
    with torch.enable_grad():
        losses = objective(*policy, *references, beta)
        _check_losses(losses, policy_chosen.shape[0])
        mean = losses.mean()
        upstream = torch.autograd.grad(mean, policy, allow_unused=True)
    surrogate = sum(
        (original * gradient).sum()
        for original, gradient in zip((policy_chosen, policy_rejected), upstream, strict=True)
        if gradient is not None
    )
    return surrogate + (mean.detach() - surrogate.detach())


def _check_losses(losses: object, pairs: int) -> None:
    if type(losses) is not torch.Tensor:  # a subclass could change what arithmetic on it does
        raise ObjectiveFailure(f"the objective returned {type(losses).__name__}, not a torch.Tensor")
    if not losses.is_floating_point() or tuple(losses.shape) != (pairs,):
        raise ObjectiveFailure(
            f"the objective returned {losses.dtype} of shape {tuple(losses.shape)}, expected floats of "
            f"shape ({pairs},)"
        )
    if not losses.requires_grad:
        raise ObjectiveFailure("the objective's loss does not depend on the policy log-probs (no gradient)")
    if not torch.isfinite(losses.detach()).all():
        raise ObjectiveFailure("the objective returned a non-finite loss (NaN or infinity)")


def hardware_defaults() -> dict[str, Any]:
    """DPOConfig fields that depend on the machine rather than on the recipe.

    On CPU: no bf16 and no gradient checkpointing (TRL turns it on by default; it only costs time
    when memory is plentiful). On a GPU: bf16 where supported. The training code is the same.
    """
    if torch.cuda.is_available():
        return {"bf16": torch.cuda.is_bf16_supported(), "use_cpu": False}
    return {"use_cpu": True, "bf16": False, "gradient_checkpointing": False}


def dpo_config(**fields: Any) -> DPOConfig:
    """A `DPOConfig` with quiet, local defaults, the machine's defaults, then the caller's fields."""
    defaults: dict[str, Any] = {
        "report_to": "none",
        "save_strategy": "no",
        "logging_strategy": "no",
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
    }
    return DPOConfig(**{**defaults, **hardware_defaults(), **fields})


def trl_builtin_loss(
    config: DPOConfig,
    log_probs: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    lengths: tuple[torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """The batch loss TRL's `DPOTrainer` computes with `config`'s loss type(s), from summed log-probs.

    `log_probs` are (policy chosen, policy rejected, reference chosen, reference rejected), shape
    (N,); gradients flow back to the policy ones. `lengths` are the completion lengths in tokens,
    which the loss types that average over tokens (`ipo`, `sigmoid_norm`, `sft`) divide by; each
    summed log-prob sits on its completion's first token, so TRL's sums give it back exactly.
    TRL's own `_compute_loss` runs on a stand-in for the trainer (the attributes `DPOTrainer.__init__`
    sets from the config) and for the model (its per-token log-probs), so the figures are TRL's, not
    a copy of its formulas.
    """
    policy_chosen, policy_rejected, reference_chosen, reference_rejected = log_probs
    counts = torch.cat(lengths).long()
    position = torch.arange(int(counts.max()) + 1).unsqueeze(0)  # one prompt token, then the answer
    completion_mask = ((position >= 1) & (position <= counts.unsqueeze(1))).long()
    shifted = completion_mask[:, 1:]
    first_token = torch.zeros(shifted.shape, dtype=policy_chosen.dtype)
    first_token[:, 0] = 1
    outputs = SimpleNamespace(
        log_probs=torch.cat([policy_chosen, policy_rejected]).unsqueeze(1) * first_token,
        entropy=torch.zeros(shifted.shape, dtype=policy_chosen.dtype),
        mean_logits=torch.zeros(shifted.shape, dtype=policy_chosen.dtype),
        is_top1=torch.zeros(shifted.shape, dtype=torch.bool),
    )
    inputs = {
        "input_ids": torch.zeros(completion_mask.shape, dtype=torch.long),
        "attention_mask": torch.ones(completion_mask.shape, dtype=torch.long),
        "completion_mask": completion_mask,
        "ref_chosen_logps": reference_chosen,
        "ref_rejected_logps": reference_rejected,
    }
    return DPOTrainer._compute_loss(_LossOnlyTrainer(config), lambda **_: outputs, inputs, False)


class _LossOnlyTrainer:
    """What `DPOTrainer._compute_loss` reads from its trainer, set from a `DPOConfig` the way
    `DPOTrainer.__init__` sets it, on one process in evaluation mode (no token counting)."""

    def __init__(self, args: DPOConfig) -> None:
        self.args = args
        self.beta = args.beta
        self.precompute_ref_logps = True  # the reference log-probs come with the inputs
        self.loss_types = args.loss_type
        self.loss_weights = args.loss_weights or [1.0] * len(self.loss_types)
        self.ld_alpha = args.ld_alpha
        self.f_divergence_type = args.f_divergence_type
        self.f_alpha_divergence_coef = args.f_alpha_divergence_coef
        self.label_smoothing = args.label_smoothing
        self.use_weighting = args.use_weighting
        self.aux_loss_enabled = False
        self.model = SimpleNamespace(training=False)
        self.accelerator = SimpleNamespace(
            device=torch.device("cpu"), gather=lambda tensor: tensor, gather_for_metrics=lambda tensor: tensor
        )
        self._metrics: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self._total_train_tokens = 0
        self._tp_size = 1
