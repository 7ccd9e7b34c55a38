"""The objective contract every proposer, validator and trainer agrees on."""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is heavy; the archive and browser use this module without it
    import torch

FUNCTION_NAME = "loss"
PARAMETERS = (
    "policy_chosen_logps",
    "policy_rejected_logps",
    "reference_chosen_logps",
    "reference_rejected_logps",
    "beta",
)
# The only imports an objective may write: module -> the name it must be bound to (None: its own).
ALLOWED_IMPORTS: dict[str, str | None] = {"math": None, "torch": None, "torch.nn.functional": "F"}
IMPORT_LINES = {
    module: f"import {module} as {alias}" if alias else f"import {module}"
    for module, alias in ALLOWED_IMPORTS.items()
}
PAPER_BETA = 0.05  # the beta of every 7B experiment in the DiscoPOP paper

# (policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta) -> per-pair losses (N,)
LossFunction = Callable[
    ["torch.Tensor", "torch.Tensor", "torch.Tensor", "torch.Tensor", float], "torch.Tensor"
]
