"""APO-zero (anchored preference optimization, arXiv 2408.06266): each answer anchored to the reference
on its own, the chosen one's reward pushed up and the rejected one's down, each through a sigmoid."""

import torch


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    chosen_rewards = beta * (policy_chosen_logps - reference_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - reference_rejected_logps)
    return 1 - torch.sigmoid(chosen_rewards) + torch.sigmoid(rejected_rewards)
