"""The prompt truncation of TRL before 1.0, which the DiscoPOP recipe was written for.

TRL 1.16 dropped `max_prompt_length`: its collator only cuts prompt + completion to `max_length`,
keeping the start, and it drops pairs whose prompt alone fills `max_length`. `truncate_pair`
reproduces the earlier rule on the token ids: when prompt plus the longer completion exceed
`max_length`, keep the last `max_prompt_length` prompt tokens (TRL's default
`truncation_mode="keep_end"` then), and if still too long cut both completions to
`max_length - max_prompt_length`.
"""

from typing import Any


def truncate_pair(example: dict[str, Any], max_length: int, max_prompt_length: int) -> dict[str, list[int]]:
    """Token ids of one tokenized pair, cut by the pre-1.0 TRL rule described in the module docstring."""
    prompt, chosen, rejected = example["prompt_ids"], example["chosen_ids"], example["rejected_ids"]
    longer = max(len(chosen), len(rejected))
    if len(prompt) + longer > max_length:
        prompt = prompt[-max_prompt_length:]
    if len(prompt) + longer > max_length:
        completion_budget = max_length - max_prompt_length
        chosen, rejected = chosen[:completion_budget], rejected[:completion_budget]
    return {"prompt_ids": prompt, "chosen_ids": chosen, "rejected_ids": rejected}
