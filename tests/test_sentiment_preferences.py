"""Preference pairs: the schema TRL reads, and labels that follow the oracle."""

from evaluators.sentiment.oracle import reward
from evaluators.sentiment.preferences import bradley_terry_pairs, oracle_pairs
from evaluators.sentiment.sampling import Completion

GOOD = Completion(ids=[10, 11], text=" the movie was superb .", logp=-3.0)
BAD = Completion(ids=[12, 13], text=" the movie was awful .", logp=-3.0)
MEH = Completion(ids=[14, 15], text=" the movie was fine .", logp=-3.0)


def test_pairs_have_the_columns_trl_reads_and_keep_the_prompts():
    prompts = [f"prompt {i} ." for i in range(6)]
    pairs = bradley_terry_pairs(prompts, [GOOD, BAD, MEH] * 2, [BAD, MEH, GOOD] * 2, temperature=0.05, seed=0)
    assert {"prompt", "chosen", "rejected"} <= set(pairs.column_names)
    rows = pairs.to_dict()
    assert rows["prompt"] == prompts
    assert all(isinstance(text, str) for text in rows["chosen"] + rows["rejected"])
    assert rows["chosen_reward"] == [reward(text) for text in rows["chosen"]]


def test_bradley_terry_labels_mostly_prefer_the_better_completion_and_are_seeded():
    prompts = ["p ."] * 400
    first, second = [GOOD, MEH] * 200, [MEH, BAD] * 200
    pairs = bradley_terry_pairs(prompts, first, second, temperature=0.1, seed=3).to_dict()
    better = sum(c > r for c, r in zip(pairs["chosen_reward"], pairs["rejected_reward"], strict=True))
    assert 0.8 * len(prompts) < better < len(prompts)  # noisy like human raters, but informative
    again = bradley_terry_pairs(prompts, first, second, temperature=0.1, seed=3).to_dict()
    assert again["chosen"] == pairs["chosen"]


def test_heldout_pairs_are_ordered_by_the_oracle_without_ties():
    ranked = oracle_pairs(["a .", "b .", "c ."], [BAD, GOOD, MEH], [GOOD, MEH, MEH])
    assert ranked["prompt"] == ["a .", "b ."]
    assert ranked["chosen_ids"] == [GOOD.ids, GOOD.ids]
    assert ranked["rejected_ids"] == [BAD.ids, MEH.ids]
