"""BCO (pairwise, arXiv 2404.04656): a binary classifier with the reward r = beta * log-ratio as logit,
chosen answers labelled 1 and rejected 0; like TRL's bco_pair it leaves out the paper's reward shift."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    chosen_rewards = beta * (policy_chosen_logps - reference_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(chosen_rewards) - F.logsigmoid(-rejected_rewards)
