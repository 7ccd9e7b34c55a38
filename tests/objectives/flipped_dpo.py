"""Sign-flipped DPO: the same logistic loss on the negated margin, so training rewards the rejected
completion. A control: on any honest task it must score below the reference."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(-beta * rho)
