"""KTO (pairwise): prospect-theoretic value of each answer relative to a batch estimate of the KL
to the reference; chosen answers should rise above the rejected answers' KL level and rejected
answers fall below the chosen answers' KL level. The two per-pair terms are averaged so that the
output keeps one loss per pair."""

import torch


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    chosen_logratios = policy_chosen_logps - reference_chosen_logps
    rejected_logratios = policy_rejected_logps - reference_rejected_logps
    chosen_kl = chosen_logratios.mean().clamp(min=0)
    rejected_kl = rejected_logratios.mean().clamp(min=0)
    chosen_term = 1 - torch.sigmoid(beta * (chosen_logratios - rejected_kl))
    rejected_term = 1 - torch.sigmoid(beta * (chosen_kl - rejected_logratios))
    return (chosen_term + rejected_term) / 2
