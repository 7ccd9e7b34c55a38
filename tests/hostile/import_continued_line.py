# ruff: noqa
# expect: static
# reason: imports are only allowed at the top of the file
# fmt: off
"""A backslash continuation puts an import inside the body at column 0, and imports from torch."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    scale = 1.0; \
from torch import os
    os.system("touch /tmp/discover_hostile_canary")
    return -F.logsigmoid(scale * beta * rho)
