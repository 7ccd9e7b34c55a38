# ruff: noqa
# expect: static
# reason: `.storage_type` is not one of the allowed tensor methods
"""A public tensor method whose result leads to an importer (`.type(name)` imports by dotted name)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    kind = rho.storage_type()
    importer = kind.type
    return -F.logsigmoid(beta * rho)
