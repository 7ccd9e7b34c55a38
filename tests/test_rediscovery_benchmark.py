"""The rediscovery benchmark's arithmetic per run: the gain of the best confirmed proposal, the share
of the known gap it closes, and the trainings spent until the first confirmed one, on hand-made
records and on the archive of a run on the noisy task (known qualities, no real training)."""

import importlib.util
from pathlib import Path

import pytest

import tests.support.noisy_evaluator  # noqa: F401  (registers the "noisy" evaluator)
from discovery.archive import Archive
from discovery.config import RunConfig
from discovery.fitness import summarise
from discovery.proposers.base import Proposal
from discovery.records import CandidateRecord, CandidateStatus, SeedResult
from discovery.runner import start_run
from discovery.suite import Suite
from discovery.transfer import Confirmation
from tests.support.noisy_runs import ScriptedProposer
from tests.support.objective_sources import SMOOTH_HINGE, SQUARED_HINGE

_PATH = Path(__file__).parents[1] / "benchmarks" / "rediscovery.py"
_SPEC = importlib.util.spec_from_file_location("rediscovery", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
rediscovery = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(rediscovery)


def verdict(id: str, difference: float, adjusted_p: float) -> Confirmation:
    return Confirmation(
        candidate_id=id, n=8, difference=difference, p_value=adjusted_p, adjusted_p=adjusted_p, complete=True
    )


def candidate(id: str, trainings: int) -> CandidateRecord:
    """A candidate holding `trainings` trainings (none: no figures, as an invalid proposal)."""
    seeds = [SeedResult(seed=seed, fitness=0.5, seconds=1.0) for seed in range(trainings)]
    return CandidateRecord(
        id=id,
        run_id="run",
        generation=0 if id.startswith("seed") else 1,
        name=id,
        thought="",
        code="",
        code_hash=id,
        is_seed=id.startswith("seed"),
        status=CandidateStatus.SCORED if seeds else CandidateStatus.INVALID,
        figures=summarise(id, seeds) if seeds else None,
    )


def test_the_gain_is_the_best_confirmed_one_and_nothing_confirmed_gains_nothing() -> None:
    verdicts = {
        "g1-c1": verdict("g1-c1", 0.02, 0.01),
        "g2-c1": verdict("g2-c1", 0.03, 0.04),
        "g3-c1": verdict("g3-c1", 0.10, 0.20),  # larger, but not confirmed: a lucky search winner
        "g4-c1": verdict("g4-c1", -0.01, 0.01),  # significant, and worse than DPO
    }
    assert rediscovery.best_confirmed_gain(verdicts) == 0.03
    assert rediscovery.best_confirmed_gain({"g3-c1": verdicts["g3-c1"]}) == 0.0
    assert rediscovery.best_confirmed_gain({}) == 0.0


def test_the_gap_closed_is_a_share_of_the_known_gain_never_below_zero_and_open_above_one() -> None:
    assert rediscovery.gap_closed(0.015, known_gain=0.03) == pytest.approx(0.5)
    assert rediscovery.gap_closed(0.0, known_gain=0.03) == 0.0
    assert rediscovery.gap_closed(-0.01, known_gain=0.03) == 0.0
    assert rediscovery.gap_closed(0.045, known_gain=0.03) == pytest.approx(1.5)


def test_trainings_to_first_count_every_candidate_in_creation_order_up_to_the_first_confirmed() -> None:
    candidates = [
        candidate("seed-dpo", 3),
        candidate("g1-c1", 2),
        candidate("g2-c1", 0),  # rejected before training: costs nothing
        candidate("g3-c1", 4),
        candidate("g4-c1", 5),
    ]
    assert rediscovery.trainings_to_first(candidates, {"g4-c1", "g3-c1"}) == 3 + 2 + 4
    assert rediscovery.trainings_to_first(candidates, {"g4-c1"}) == 14
    assert rediscovery.trainings_to_first(candidates, set()) is None


def test_the_median_gap_closed_leaves_out_runs_without_a_result() -> None:
    def run(closed: float | None) -> object:
        return rediscovery.RunFigures(0, None, [], None, closed, None, None, None, None, 1.0)

    assert rediscovery.median_gap_closed([run(0.2), run(None), run(1.4), run(0.5)]) == 0.5
    assert rediscovery.median_gap_closed([run(None)]) is None


def test_a_run_s_figures_come_from_its_archive_as_its_confirmation_decided(tmp_path, monkeypatch) -> None:
    """`lucky_...` wins the search by one seed and is not confirmed; `good_q0_8` is, 0.2 above DPO's
    0.6 on every fresh seed of the held-out copy."""
    proposals = [Proposal(name="lucky_q0_6", thought="", code=SQUARED_HINGE)]
    proposals.append(Proposal(name="good_q0_8", thought="", code=SMOOTH_HINGE))
    monkeypatch.setattr("discovery.runner.make_proposer", lambda *args: (ScriptedProposer(proposals), None))
    config = RunConfig(
        generations=2,
        evaluator="noisy",
        suite=Suite(meta_train={"main": {}}, meta_test={"fresh": {}}),
        seed_objectives=["dpo"],
        seeds=1,
        racing={"best_needs": 1},
        executor={"workers": 1},
        transfer={"top": 2, "seeds": 8},
    )
    outcome = start_run(tmp_path, config)
    assert outcome.confirmation is not None
    good = next(c for c in outcome.leaderboard if c.name == "good_q0_8")
    expected = outcome.confirmation.confirmations()[good.id].difference

    with Archive.open(tmp_path, outcome.run.id) as archive:
        figures = rediscovery.measure(archive, known_gain=0.4)
        spent = [len(c.figures.seeds) if c.figures else 0 for c in archive.candidates()]
        order = [c.id for c in archive.candidates()]
        held_out = sum(len(record.result.seeds) for record in archive.transfers())
        candidates = archive.candidates()
    proposals_cells = {c.cell for c in candidates if not c.is_seed}
    before_the_map = [c.model_copy(update={"cell": None}) for c in candidates]  # as an older archive

    assert figures["seeds"] == ["dpo"] and figures["confirmed"] == 1
    assert figures["gain"] == expected == pytest.approx(0.2)
    assert figures["gap_closed"] == pytest.approx(0.5)
    assert figures["trainings_to_first"] == sum(spent[: order.index(good.id) + 1])
    assert figures["trainings"] == sum(spent)
    assert figures["held_out_trainings"] == held_out == 3 * 8  # DPO and the two proposals, 8 seeds each
    assert None not in proposals_cells and figures["cells"] == len(proposals_cells)
    # an archive written before the map: its proposals are placed by the sandbox again, in the same cells
    assert {c.cell for c in rediscovery.placed(before_the_map) if not c.is_seed} == proposals_cells


def separation(variants: list[tuple[str, dict[str, float | None]]], baseline: str = "dpo") -> dict:
    """A document as `discover separation --json` prints it: per variant its role and the objectives'
    paired differences with the baseline (the fields the benchmark reads)."""
    return {
        "variants": [
            {
                "variant": f"{role}-{index}",
                "role": role,
                "baseline": baseline,
                "objectives": [
                    {"objective": name, "difference": difference, "is_baseline": name == baseline}
                    for name, difference in differences.items()
                ],
            }
            for index, (role, differences) in enumerate(variants)
        ]
    }


def test_the_known_gain_is_the_best_known_objective_s_mean_over_the_meta_test_variants_only() -> None:
    document = separation(
        [
            ("meta-train", {"dpo": 0.0, "ipo": 0.5, "slic": 0.5}),  # the search's variants do not count
            ("meta-test", {"dpo": 0.0, "ipo": 0.04, "slic": 0.01, "kto": 0.09}),
            ("meta-test", {"dpo": 0.0, "ipo": 0.00, "slic": 0.05, "kto": 0.09}),
        ]
    )
    best, gain = rediscovery.separation_gain(document, ["ipo", "slic"])  # kto is not a known winner
    assert best == "slic" and gain == pytest.approx(0.03)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (separation([("meta-train", {"ipo": 0.1})]), "no meta-test variant"),
        (separation([("meta-test", {"dpo": 0.0})]), "did not pair ipo"),
        (separation([("meta-test", {"ipo": None})]), "did not pair ipo"),
        (separation([("meta-test", {"ipo": 0.1})], baseline="slic"), "baseline is not dpo"),
    ],
)
def test_a_separation_that_cannot_say_the_known_gain_is_refused(document: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rediscovery.separation_gain(document, ["ipo"])
