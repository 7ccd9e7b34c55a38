"""NCA (pairwise, noise contrastive alignment, arXiv 2402.05369): each answer scored on its own reward
r = beta * log-ratio; -log sigmoid(r) lifts the chosen one, half of -log sigmoid(-r) lowers both."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    chosen_rewards = beta * (policy_chosen_logps - reference_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - reference_rejected_logps)
    return (
        -F.logsigmoid(chosen_rewards)
        - 0.5 * F.logsigmoid(-chosen_rewards)
        - 0.5 * F.logsigmoid(-rejected_rewards)
    )
