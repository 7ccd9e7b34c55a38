"""The offline `builtin` proposer: deterministic, gate-clean, pointed the right way, and new."""

import random
from collections.abc import Callable

import pytest
import torch

from discovery.fitness import summarise
from discovery.objectives import default_seed_names, load_objective, shipped_names
from discovery.objectives.compile import compile_objective
from discovery.objectives.gate import check_source
from discovery.proposers.base import Check, Checker, Proposal, ProposalContext
from discovery.proposers.builtin import BuiltinProposer
from discovery.proposers.mutations import Parent, blend, retune
from discovery.proposers.splice import knobs, loss_function
from discovery.records import CandidateRecord, CandidateStatus, SeedResult
from discovery.sandbox import Validator

PARENT_CODES = {load_objective(name).source for name in default_seed_names()}


@pytest.fixture(scope="module")
def sandbox():
    with Validator() as validator:
        yield validator


def checker(validator: Validator, reason: Callable[[str], str | None] = lambda code: None) -> Checker:
    """The loop's `check` without an archive: the sandbox's verdict, then `reason` for valid drafts."""

    def check(code: str) -> Check:
        verdict = validator.validate(code)
        if not verdict.ok:
            return Check(f"rejected at the {verdict.stage} stage: {verdict.reason}", None)
        return Check(reason(code), verdict.behaviour)

    return check


def record(
    candidate_id: str, name: str, code: str, thought: str, fitness: float, generation: int
) -> CandidateRecord:
    metrics = summarise(name, [SeedResult(seed=0, fitness=fitness, seconds=1.0)])
    return CandidateRecord(
        id=candidate_id,
        run_id="run",
        generation=generation,
        name=name,
        thought=thought,
        code=code,
        code_hash=candidate_id,
        is_seed=generation == 0,
        status=CandidateStatus.SCORED,
        figures=metrics,
    )


def seeds(fitness: dict[str, float] | None = None) -> list[CandidateRecord]:
    """A default run's seeds, scored, best first (fitness rising in catalog order by default)."""
    fitness = fitness or {name: 0.5 + 0.01 * index for index, name in enumerate(default_seed_names())}
    records = []
    for name, value in fitness.items():
        objective = load_objective(name)
        records.append(record(f"seed-{name}", name, objective.source, objective.thought, value, 0))
    return sorted(records, key=lambda candidate: -value_of(candidate))


def value_of(candidate: CandidateRecord) -> float:
    assert candidate.fitness is not None
    return candidate.fitness


def context(best: list[CandidateRecord], generation: int = 1) -> ProposalContext:
    return ProposalContext(
        run_id="run", generation=generation, evaluator="sentiment", figures={}, best=best, recent=best[:3]
    )


def evolve(check: Checker, seed: int, generations: int, count: int = 2) -> list[Proposal]:
    """Run the proposer against a growing archive whose newcomers get made-up fitness."""
    proposer, archive = BuiltinProposer(seed=seed), seeds()
    scores = random.Random(seed)
    proposed = []
    for generation in range(1, generations + 1):
        for index, proposal in enumerate(proposer.propose(context(archive, generation), count, check)):
            proposed.append(proposal)
            fitness = 0.5 + 0.2 * scores.random()
            archive.append(
                record(
                    f"g{generation}-c{index}",
                    proposal.name,
                    proposal.code,
                    proposal.thought,
                    fitness,
                    generation,
                )
            )
        archive.sort(key=lambda candidate: -value_of(candidate))
    return proposed


def gradients(code: str, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pair d loss / d policy_chosen and d loss / d policy_rejected on a batch the proposer never saw."""
    generator = torch.Generator().manual_seed(1234)
    reference_chosen, reference_rejected = -(30 + 90 * torch.rand(2, 512, generator=generator))
    chosen = (reference_chosen + 4 * torch.randn(512, generator=generator)).requires_grad_(True)
    rejected = (reference_rejected + 4 * torch.randn(512, generator=generator)).requires_grad_(True)
    losses = compile_objective(code)(chosen, rejected, reference_chosen, reference_rejected, beta)
    chosen_grad, rejected_grad = torch.autograd.grad(losses.sum(), (chosen, rejected), allow_unused=True)
    # An objective may act on one answer alone: the other's gradient is then zero, as the sandbox counts it.
    return (
        torch.zeros_like(chosen) if chosen_grad is None else chosen_grad,
        torch.zeros_like(rejected) if rejected_grad is None else rejected_grad,
    )


def test_same_seed_and_archive_give_the_same_proposals(sandbox) -> None:
    first, second = (
        evolve(checker(sandbox), seed=3, generations=3),
        evolve(checker(sandbox), seed=3, generations=3),
    )
    assert [(p.name, p.code, p.parents) for p in first] == [(p.name, p.code, p.parents) for p in second]
    assert [p.code for p in evolve(checker(sandbox), seed=4, generations=3)] != [p.code for p in first]


def test_proposals_pass_the_gate_and_favour_the_chosen_answer(sandbox) -> None:
    proposals = evolve(checker(sandbox), seed=0, generations=8)
    assert len(proposals) == 16 and all(p.error is None for p in proposals)
    for proposal in proposals:
        assert check_source(proposal.code) == [], proposal.code
        assert proposal.thought and proposal.code.startswith(f'"""{proposal.thought[:40]}')
        for beta in (0.05, 0.5):
            chosen_grad, rejected_grad = gradients(proposal.code, beta)
            assert torch.isfinite(chosen_grad).all() and torch.isfinite(rejected_grad).all()
            assert chosen_grad.mean() < 0 < rejected_grad.mean(), proposal.code


def test_proposals_train_differently_from_every_shipped_objective(sandbox) -> None:
    shipped = [torch.cat(gradients(load_objective(name).source, 0.1)) for name in shipped_names()]
    for proposal in evolve(checker(sandbox), seed=1, generations=4):
        signature = torch.cat(gradients(proposal.code, 0.1))
        for known in shipped:
            cosine = torch.nn.functional.cosine_similarity(signature, known, dim=0)
            assert cosine < 0.9999, proposal.code


def test_names_are_unique_and_parents_come_from_the_archive(sandbox) -> None:
    archive = seeds()
    proposals = BuiltinProposer(seed=0).propose(context(archive), 4, checker(sandbox))
    names = [proposal.name for proposal in proposals]
    assert len(set(names)) == 4 and not set(names) & set(shipped_names())
    ids = {candidate.id for candidate in archive}
    assert all(proposal.parents and set(proposal.parents) <= ids for proposal in proposals)


def test_parents_are_drawn_mostly_from_the_fittest(sandbox) -> None:
    names = default_seed_names()
    archive = seeds({name: 0.1 * index for index, name in enumerate(names)})
    proposer = BuiltinProposer(seed=0)
    parents = [
        parent
        for generation in range(1, 11)
        for proposal in proposer.propose(context(archive, generation), 2, checker(sandbox))
        for parent in proposal.parents
    ]
    top = sum(parent in {f"seed-{name}" for name in names[-3:]} for parent in parents)
    bottom = sum(parent in {f"seed-{name}" for name in names[:3]} for parent in parents)
    assert top >= 3 * bottom


def test_rejected_drafts_are_replaced_up_to_the_check_budget(sandbox) -> None:
    seen: list[str] = []

    def reject_first_two(code: str) -> str | None:
        if code in PARENT_CODES:  # asked for the parents' behaviour, not offered
            return "already archived"
        seen.append(code)
        return "duplicate of seed-dpo" if len(seen) <= 2 else None

    # The classic moves: none of their first drafts behaves like another, so every draft checked counts.
    proposer = BuiltinProposer(seed=0, operators="classic")
    (proposal,) = proposer.propose(context(seeds()), 1, checker(sandbox, reject_first_two))
    assert len(seen) == 3 and proposal.code == seen[-1] and len(set(seen)) == 3


def test_a_draft_is_still_returned_when_check_rejects_everything(sandbox) -> None:
    seen: list[str] = []

    def reject_all(code: str) -> str | None:
        if code not in PARENT_CODES:
            seen.append(code)
        return "functional check failed"

    (proposal,) = BuiltinProposer(seed=0, max_checks=4, operators="classic").propose(
        context(seeds()), 1, checker(sandbox, reject_all)
    )
    assert len(seen) == 4 and proposal.code == seen[-1] and proposal.error is None


def test_before_anything_is_scored_it_starts_from_the_run_s_seeds_and_no_other_shipped_objective(
    sandbox,
) -> None:
    """A run seeded with DPO alone proposes while DPO still trains: from DPO, not from the shipped
    objectives the run left out (a rediscovery benchmark removes the known winners that way)."""
    dpo = load_objective("dpo")
    unscored = CandidateRecord(
        id="seed-dpo",
        run_id="run",
        generation=0,
        name="dpo",
        thought=dpo.thought,
        code=dpo.source,
        code_hash=dpo.code_hash,
        is_seed=True,
        status=CandidateStatus.RUNNING,
    )
    waiting = ProposalContext(
        run_id="run", generation=1, evaluator="sentiment", figures={}, best=[], recent=[], seeds=[unscored]
    )
    proposals = BuiltinProposer(seed=0).propose(waiting, 3, checker(sandbox))
    assert all(p.error is None and p.parents == ["seed-dpo"] for p in proposals)
    assert all(check_source(p.code) == [] for p in proposals)

    no_seeds = waiting.model_copy(update={"seeds": []})
    (nothing,) = BuiltinProposer(seed=0).propose(no_seeds, 1, checker(sandbox))
    assert nothing.error is not None and nothing.code == ""


def test_unusual_archive_code_is_not_used_as_a_parent(sandbox) -> None:
    odd = """import torch.nn.functional as nnf


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    if beta > 1:
        return -nnf.logsigmoid(policy_chosen_logps - policy_rejected_logps)
    return -nnf.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps))
"""
    archive = [record("g1-c0", "odd", odd, "odd", 0.99, 1), *seeds()]
    proposals = BuiltinProposer(seed=0).propose(context(archive), 3, checker(sandbox))
    assert all("g1-c0" not in proposal.parents for proposal in proposals)


def test_blend_shares_the_margin_and_retune_changes_only_named_constants() -> None:
    dpo, slic = (
        Parent(f"seed-{name}", name, load_objective(name).source, load_objective(name).thought, 0.5)
        for name in ("dpo", "slic")
    )
    child = blend(random.Random(0), dpo, slic)
    assert child.code.count("rho = ") == 1 and "dpo_loss" in child.code and "slic_loss" in child.code
    tuned = retune(random.Random(0), Parent("g1-c0", child.name, child.code, child.thought, 0.6))
    before, after = knobs(loss_function(child.code)), knobs(loss_function(tuned.code))
    assert before.keys() == after.keys() == {"mix"} and before != after
    assert tuned.thought.startswith(f"Retuned from {child.name} (mix {before['mix']:g} -> {after['mix']:g}).")


def test_retune_needs_named_constants() -> None:
    dpo = Parent("seed-dpo", "dpo", load_objective("dpo").source, "", 0.5)
    with pytest.raises(ValueError, match="no named constants"):
        retune(random.Random(0), dpo)
