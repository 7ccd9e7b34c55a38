"""SLiC (hinge): a margin loss on z = beta * rho that stops pushing once the chosen answer leads the
rejected one by a unit margin, relu(1 - z), which bounds how far the policy drifts on easy pairs."""

import torch


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return torch.relu(1 - beta * rho)
