"""Proposer names -> instances, including the fallback to the offline proposer when no LLM is configured."""

import os

from discovery.config import RunConfig
from discovery.errors import UserError
from discovery.proposers.base import Proposer

# The model asked for on the OpenAI API when --model is not given.
DEFAULT_OPENAI_MODEL = "gpt-4.1"


def make_proposer(config: RunConfig) -> tuple[Proposer, str | None]:
    """The proposer to use, and a one-line notice when the choice was made for the user.

    `kind=None` means "openai if an endpoint is configured, else builtin". An endpoint is
    configured by `base_url` or an ensemble member's (a local server needs no key) or by
    `OPENAI_API_KEY`.
    """
    kind, model, base_url = config.proposer, config.model, config.base_url
    local = base_url is not None or any(member.base_url for member in config.models)
    configured = local or bool(os.environ.get("OPENAI_API_KEY"))
    if kind == "builtin" or (kind is None and not configured):
        from discovery.proposers.builtin import BuiltinProposer

        notice = None
        if kind is None:
            notice = "no LLM endpoint configured (OPENAI_API_KEY or --base-url): using the built-in proposer"
        elif model is not None or base_url is not None or config.models:
            notice = "the built-in proposer uses no LLM: --model, --models and --base-url are ignored"
        return BuiltinProposer(seed=config.random_seed, operators=config.search.operators), notice
    if not configured:
        raise UserError("the openai proposer needs OPENAI_API_KEY, or --base-url for a local server")
    if model is None and base_url is not None and not config.models:
        raise UserError(f"--model is required with --base-url: the name of a model that {base_url} serves")
    from discovery.proposers.llm import OpenAIProposer

    endpoints = config.ensemble() or [config.endpoint(model or DEFAULT_OPENAI_MODEL)]
    proposer = OpenAIProposer(
        *endpoints, summary_interval=config.summary_interval, random_seed=config.random_seed
    )
    return proposer, None
