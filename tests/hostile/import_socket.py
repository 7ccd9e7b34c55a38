# ruff: noqa
# expect: static
# reason: import of `socket` is not allowed
"""Opens a network connection to exfiltrate data."""

import socket
import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    socket.create_connection(("example.com", 80))
    return -F.logsigmoid(beta * rho)
