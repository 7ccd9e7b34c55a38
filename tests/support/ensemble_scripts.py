"""Scripted replies for an ensemble of two local endpoints: a model whose losses the probe evaluator
scores higher than DPO's, and one whose losses it scores lower."""

import json

from tests.support.fake_openai import Reply
from tests.support.objective_sources import objective


def proposal_reply(name: str, code: str) -> Reply:
    return Reply.chat(json.dumps({"thought": f"try {name}", "name": name, "code": code}))


# Losses of distinct shapes (none another's rescaling) that push the chosen answer up harder than
# DPO does, so the probe scores them higher, and ones that push less, scored lower.
STRONG = [
    "torch.exp(-z)",
    "torch.relu(-z) ** 3",
    "0.5 * torch.exp(-z) + torch.relu(1 - z)",
    "torch.relu(2 - z) ** 2",
    "(1 - z) ** 2",
    "F.softplus(-z) ** 2",
    "F.softplus(-z) + torch.relu(-z) ** 2",
    "torch.exp(-z) + (1 - z) ** 2",
    "torch.relu(-z) ** 3 + F.softplus(-z) ** 2",
    "2 * torch.exp(-z) + torch.relu(1 - z) ** 2",
]
WEAK = [
    "torch.sigmoid(-z)",
    "-torch.tanh(z)",
    "torch.sqrt(1 + (1 - z) ** 2)",
    "torch.abs(1 - z)",
    "F.softplus(-z) ** 0.5",
    "torch.sigmoid(-2 - z)",
]


def script(prefix: str, bodies: list[str]) -> list[Reply]:
    return [proposal_reply(f"{prefix}_{k}", objective(body)) for k, body in enumerate(bodies)]
