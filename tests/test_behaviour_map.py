"""The behaviour map: the sandbox places each objective by how its gradient behaves, and shipped
objectives that train differently land in different, readably named cells."""

import pytest

from discovery.objectives import load_objective
from discovery.population.behaviour import AXES, all_cells, cell_of, cells_reached
from discovery.records import CandidateRecord, CandidateStatus
from discovery.sandbox import Validator

# What each axis says of these objectives follows from their formulas (see the axes' docs).
EXPECTED = {
    "dpo": "falls·bounded·margin",  # logistic: the weight falls ahead, saturates behind
    "slic": "stops·bounded·margin",  # hinge: no gradient beyond the margin, constant behind
    "ipo": "grows·unbounded·margin",  # squared loss towards a target margin
    "exo": "falls·fades·margin",  # gives up on badly ranked pairs
    "sppo": "grows·unbounded·sided",  # each answer's log-ratio pulled to its own target
    "apo_zero": "eases·fades·mixed",  # each side's sigmoid apart
    "nca": "eases·bounded·sided",
}


@pytest.fixture(scope="module")
def verdicts():
    with Validator() as validator:
        yield {name: validator.validate(load_objective(name).source) for name in EXPECTED}


def test_the_sandbox_places_shipped_objectives_in_the_cells_their_formulas_predict(verdicts) -> None:
    cells = {name: cell_of(verdict.descriptors) for name, verdict in verdicts.items()}
    assert cells == EXPECTED
    assert len(set(cells.values())) == len(cells)  # DPO, IPO, hinge and the one-sided ones all differ


def test_a_rejected_objective_has_no_place_on_the_map() -> None:
    with Validator() as validator:
        verdict = validator.validate("def loss(a, b, c, d, beta):\n    return a.sum()\n")
    assert not verdict.ok and verdict.descriptors is None and cell_of(verdict.descriptors) is None


def test_every_cell_is_named_by_one_bin_of_each_axis() -> None:
    cells = all_cells()
    assert (
        len(cells)
        == len(set(cells))
        == 4 * 3 * 3
        == len(AXES[0].bins) * len(AXES[1].bins) * len(AXES[2].bins)
    )
    assert set(EXPECTED.values()) <= set(cells)


def proposal(id: str, cell: str | None, status: CandidateStatus, is_seed: bool = False) -> CandidateRecord:
    return CandidateRecord(
        id=id, run_id="r", generation=0 if is_seed else 1, name=id, thought="", code="", code_hash=id,
        cell=cell, status=status, is_seed=is_seed,
    )  # fmt: skip


def test_cells_reached_counts_the_distinct_cells_of_proposals_that_passed_the_sandbox() -> None:
    candidates = [
        proposal("seed-dpo", "falls·bounded·margin", CandidateStatus.SCORED, is_seed=True),
        proposal("g1-c1", "stops·bounded·margin", CandidateStatus.SCORED),
        proposal("g1-c2", "stops·bounded·margin", CandidateStatus.FAILED),
        proposal("g2-c1", "grows·unbounded·margin", CandidateStatus.VALIDATED),
        proposal("g2-c2", "eases·fades·mixed", CandidateStatus.DUPLICATE),
        proposal("g3-c1", None, CandidateStatus.INVALID),
    ]
    assert cells_reached(candidates) == 2
