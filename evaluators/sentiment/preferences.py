"""Preference pairs: two reference samples per prompt, ordered by a seeded Bradley-Terry draw.

Like human raters, the labeller is noisy: the better completion (by the oracle) is chosen with
probability sigmoid((r_a - r_b) / temperature), not always. Held-out pairs for the accuracy figure
are ordered by the oracle itself (no noise) and exact ties are left out, so accuracy measures how
well a policy's implicit reward ranks completions, not how well it predicts coin flips.
"""

import math
import random
from collections.abc import Sequence

from datasets import Dataset

from evaluators.sentiment.oracle import reward
from evaluators.sentiment.sampling import Completion


def bradley_terry_pairs(
    prompts: Sequence[str],
    first: Sequence[Completion],
    second: Sequence[Completion],
    temperature: float,
    seed: int,
    label_noise: float = 0.0,
) -> Dataset:
    """A `datasets.Dataset` with columns prompt / chosen / rejected (plus the oracle rewards); a
    `label_noise` share of the pairs, drawn independently of the labels, have their labels swapped."""
    rng = random.Random(seed)
    flips = random.Random(f"{seed}-flips")
    rows: dict[str, list] = {
        "prompt": [],
        "chosen": [],
        "rejected": [],
        "chosen_reward": [],
        "rejected_reward": [],
    }
    for prompt, a, b in zip(prompts, first, second, strict=True):
        reward_a, reward_b = reward(a.text), reward(b.text)
        a_wins = rng.random() < 1 / (1 + math.exp(-(reward_a - reward_b) / temperature))
        if flips.random() < label_noise:
            a_wins = not a_wins
        (chosen, chosen_reward), (rejected, rejected_reward) = (
            ((a, reward_a), (b, reward_b)) if a_wins else ((b, reward_b), (a, reward_a))
        )
        rows["prompt"].append(prompt)
        rows["chosen"].append(chosen.text)
        rows["rejected"].append(rejected.text)
        rows["chosen_reward"].append(chosen_reward)
        rows["rejected_reward"].append(rejected_reward)
    return Dataset.from_dict(rows)


def oracle_pairs(prompts: Sequence[str], first: Sequence[Completion], second: Sequence[Completion]) -> dict:
    """Held-out pairs ordered by the oracle, ties dropped: prompt, chosen ids and rejected ids."""
    rows: dict[str, list] = {"prompt": [], "chosen_ids": [], "rejected_ids": []}
    for prompt, a, b in zip(prompts, first, second, strict=True):
        reward_a, reward_b = reward(a.text), reward(b.text)
        if reward_a == reward_b:
            continue
        chosen, rejected = (a, b) if reward_a > reward_b else (b, a)
        rows["prompt"].append(prompt)
        rows["chosen_ids"].append(chosen.ids)
        rows["rejected_ids"].append(rejected.ids)
    return rows
