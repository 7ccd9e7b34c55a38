"""The documented objective format and the LLM's prompt say exactly what the gate accepts."""

import builtins
import math

import torch
import torch.nn.functional as F

from discovery.objectives import allowlist
from discovery.objectives.format_doc import DOC_PATH, render_markdown
from discovery.proposers.base import ProposalContext
from discovery.proposers.prompting import system_prompt

NAMESPACE_MODULES = (
    (allowlist.TORCH, torch),
    (allowlist.SPECIAL, torch.special),
    (allowlist.FUNCTIONAL, F),
    (allowlist.MATH, math),
)
FINFO = "of torch.finfo(dtype)"


def every_allowed_name() -> set[str]:
    names = set(allowlist.TENSOR_NAMES) | set(allowlist.BUILTINS) | set(allowlist.KEYWORDS)
    return names.union(*(namespace.names for namespace, _ in NAMESPACE_MODULES))


def test_the_document_is_generated_from_the_current_lists():
    assert DOC_PATH.is_file() and DOC_PATH.read_text() == render_markdown(), (
        "docs/objective-format.md is stale: run `python -m discovery.objectives.format_doc`"
    )


def test_every_allowed_name_exists_in_the_installed_versions():
    for namespace, module in NAMESPACE_MODULES:
        assert [name for name in namespace.names if not hasattr(module, name)] == [], namespace.spelling
    methods = allowlist.TENSOR_NAMES - set(allowlist.TENSOR_ATTRIBUTES[FINFO])
    assert [name for name in methods if not hasattr(torch.Tensor, name)] == []
    assert all(hasattr(torch.finfo(torch.float32), name) for name in allowlist.TENSOR_ATTRIBUTES[FINFO])
    assert all(hasattr(builtins, name) for name in allowlist.BUILTINS)


def test_no_allowed_name_writes_in_place_reaches_autograd_or_draws_random_numbers():
    refused = allowlist.AUTOGRAD_NAMES | allowlist.RANDOM_NAMES | allowlist.IN_PLACE_KEYWORDS
    assert [
        name
        for name in every_allowed_name()
        if name in refused or allowlist.is_in_place(name) or name.startswith("_")
    ] == []


def test_the_system_prompt_lists_every_allowed_name():
    context = ProposalContext(run_id="r", generation=1, evaluator="sentiment", figures={}, best=[], recent=[])
    prompt = system_prompt(context)
    words = set(prompt.replace(",", " ").split())
    assert every_allowed_name() - words == set()
    assert "`for i in range(...):`" in prompt and "`import torch.nn.functional as F`" in prompt
