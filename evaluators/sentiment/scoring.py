"""Score a trained policy against the reference on the held-out set.

- fitness: win rate of one policy sample against each of the cached reference samples of its
  prompt, under the oracle, ties counting half (several reference samples per prompt make the
  reference side of the comparison less a matter of luck);
- reward: the policy samples' mean oracle reward;
- kl: mean over the policy's samples of log pi(y|x) - log pi_ref(y|x) (a Monte-Carlo estimate of
  KL(policy || reference) over whole completions);
- accuracy: share of held-out oracle-ordered pairs whose implicit reward beta*log(pi/pi_ref) ranks
  the better completion first, ties counting half (an unchanged policy scores 0.5, not 0; beta > 0
  does not change the ranking, so it is left out).
"""

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from discovery.progress import Progress
from evaluators.sentiment.cache import HeldOut
from evaluators.sentiment.oracle import reward, win_rate
from evaluators.sentiment.sampling import completion_logps, sample


@dataclass(frozen=True)
class Scores:
    """The four figures of one trained policy."""

    fitness: float
    reward: float
    kl: float
    accuracy: float | None  # None when the held-out set has no untied pairs (tiny presets)


def score(
    policy: PreTrainedModel,
    reference: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    heldout: HeldOut,
    max_new_tokens: int,
    seed: int,
    progress: Progress,
) -> Scores:
    """Sample from the policy once per held-out prompt and compute the figures."""
    completions = sample(policy, tokenizer, heldout.prompts, max_new_tokens, seed, progress, "score")
    rewards = [reward(completion.text) for completion in completions]
    ids = [completion.ids for completion in completions]
    policy_logps = torch.tensor([completion.logp for completion in completions], dtype=torch.float64)
    kl = policy_logps - completion_logps(reference, tokenizer, heldout.prompts, ids)
    margins = completion_logps(
        policy, tokenizer, heldout.pair_prompts, heldout.chosen_ids
    ) - completion_logps(policy, tokenizer, heldout.pair_prompts, heldout.rejected_ids)
    implicit = margins - torch.tensor(heldout.reference_margins, dtype=margins.dtype)
    return Scores(
        fitness=win_rate(rewards, heldout.reference_rewards),
        reward=sum(rewards) / len(rewards),
        kl=kl.mean().item(),
        accuracy=((implicit > 0).double() + 0.5 * (implicit == 0).double()).mean().item()
        if len(implicit)
        else None,
    )
