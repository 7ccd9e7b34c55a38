# ruff: noqa
# expect: static
# reason: `match` is not allowed in an objective
"""A class pattern looks an attribute up by keyword name, where no attribute rule sees it."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    match F.logsigmoid:
        case object(__globals__=namespace):
            rho = rho + 0 * len(namespace)
    return -F.logsigmoid(beta * rho)
