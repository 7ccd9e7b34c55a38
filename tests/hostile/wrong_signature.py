# ruff: noqa
# expect: static
# reason: `loss` must take exactly
"""Takes the margin instead of the four log-probs."""

import torch
import torch.nn.functional as F


def loss(rho, beta):
    return -F.logsigmoid(beta * rho)
