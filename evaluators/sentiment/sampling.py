"""Sampling completions from a causal LM and scoring their log-probabilities, in batches.

Sampling is pure ancestral sampling at temperature 1 (no top-k, no top-p), so that the policy's
samples are draws from the policy itself and the KL estimate from them is unbiased.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerFast

from discovery.progress import Progress, no_progress

BATCH = 250


@dataclass(frozen=True)
class Completion:
    """A sampled completion: its word ids (with the end-of-review id if it ended), its text, and its
    summed log-probability under the model that sampled it (what a scoring pass would compute
    again, taken from the sampling's own logits)."""

    ids: list[int]
    text: str
    logp: float


@torch.no_grad()
def sample(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    prompts: Sequence[str],
    max_new_tokens: int,
    seed: int,
    progress: Progress = no_progress,
    phase: str = "sample",
) -> list[Completion]:
    """One completion per prompt, reproducible for a given seed and prompt order."""
    torch.manual_seed(seed)
    model.eval()
    config = GenerationConfig(
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        max_new_tokens=max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    tokenizer.padding_side = "left"
    completions: list[Completion] = []
    for start in range(0, len(prompts), BATCH):
        batch = tokenizer(list(prompts[start : start + BATCH]), return_tensors="pt", padding=True).to(
            model.device
        )
        output = model.generate(
            **batch, generation_config=config, output_logits=True, return_dict_in_generate=True
        )
        new_tokens = output.sequences[:, batch["input_ids"].shape[1] :]
        token_logps = torch.stack(output.logits, dim=1).double().log_softmax(-1)
        token_logps = token_logps.gather(-1, new_tokens[..., None]).squeeze(-1).tolist()
        for row, logps in zip(new_tokens.tolist(), token_logps, strict=True):
            end = row.index(tokenizer.eos_token_id) + 1 if tokenizer.eos_token_id in row else len(row)
            kept = [k for k in range(end) if row[k] != tokenizer.pad_token_id]
            ids = [row[k] for k in kept]
            words = tokenizer.convert_ids_to_tokens([i for i in ids if i != tokenizer.eos_token_id])
            text = " " + " ".join(words) if words else ""
            completions.append(Completion(ids=ids, text=text, logp=sum(logps[k] for k in kept)))
        progress(phase, min(1.0, (start + BATCH) / len(prompts)))
    return completions


@torch.no_grad()
def completion_logps(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    prompts: Sequence[str],
    completions: Sequence[list[int]],
) -> torch.Tensor:
    """Summed log-probability of each completion's ids given its prompt, shape (N,), float64."""
    model.eval()
    totals = []
    for start in range(0, len(prompts), BATCH):
        prompt_ids = [
            tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts[start : start + BATCH]
        ]
        rows = [p + c for p, c in zip(prompt_ids, completions[start : start + BATCH], strict=True)]
        width = max(len(row) for row in rows)
        input_ids = torch.tensor([row + [tokenizer.pad_token_id] * (width - len(row)) for row in rows])
        mask = torch.zeros_like(input_ids)
        attention = torch.zeros_like(input_ids)
        for index, (p, row) in enumerate(zip(prompt_ids, rows, strict=True)):
            mask[index, len(p) : len(row)] = 1
            attention[index, : len(row)] = 1
        input_ids, attention = input_ids.to(model.device), attention.to(model.device)
        logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].double()
        token_logps = logits.log_softmax(-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
        totals.append((token_logps * mask[:, 1:].to(model.device)).sum(-1).cpu())
    return torch.cat(totals) if totals else torch.zeros(0, dtype=torch.float64)
