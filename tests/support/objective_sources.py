"""Objective files as an LLM might write them, each a loss of DPO's margin `z`: losses that train,
DPO respelled (a duplicate), one the sandbox's gate refuses and one the probe evaluator crashes on."""

from discovery.objectives import PARAMETERS

SIGNATURE = f"def loss({', '.join(PARAMETERS)}):"
PROLOGUE = (
    "import torch\nimport torch.nn.functional as F\n\n\n" + SIGNATURE + "\n"
    "    z = beta * ((policy_chosen_logps - reference_chosen_logps)"
    " - (policy_rejected_logps - reference_rejected_logps))\n"
)


def objective(body: str) -> str:
    """A loss of the DPO margin `z`: `return BODY` after the signature and the margin."""
    return PROLOGUE + f"    return {body}\n"


SQUARED_HINGE = objective("torch.relu(2 - z) ** 2")  # none is DPO with beta rescaled: each trains
EXPONENTIAL = objective("torch.exp(-z)")
SMOOTH_HINGE = objective("F.softplus(1 - z)")
SQUARED_LOGISTIC = objective("F.softplus(-z) ** 2")
MIXED = objective("0.5 * torch.exp(-z) + torch.relu(1 - z)")
SKEWED = objective("-F.logsigmoid(z) + 0.3 * torch.relu(-z)")
DPO_RESPELLED = objective("F.softplus(-z)")
FORBIDDEN = "import os\n\n\n" + SIGNATURE + "\n    return os.getcwd()\n"
CRASHING = objective("torch.relu(0.5 - z) ** 3  # CRASH")
