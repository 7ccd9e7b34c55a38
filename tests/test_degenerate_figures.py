"""A candidate that skews its figures without escaping (no gradient where it trains, huge gradients,
policy and reference swapped) scores low, correctly; the leaderboard, `show`, the report and the
proposer's context also name what the figures show, so a low number does not read as a weak idea."""

from rich.console import Console

from discovery.fitness import summarise
from discovery.proposers.prompting import describe
from discovery.records import CandidateRecord, CandidateStatus, SeedResult
from discovery.ui.views import leaderboard_table

UNCHANGED = 0.5  # the untrained policy's fitness, as the sentiment evaluator reports it


def trainings(fitness: float, kl: float, collapsed: bool = False, seeds: int = 3) -> list[SeedResult]:
    return [
        SeedResult(
            seed=s,
            beta=0.1,
            fitness=fitness + 0.001 * s,
            kl=kl,
            collapsed=collapsed,
            unchanged_fitness=UNCHANGED,
            seconds=1.0,
        )
        for s in range(seeds)
    ]


def scored(name: str, results: list[SeedResult]) -> CandidateRecord:
    return CandidateRecord(
        id=name,
        run_id="run",
        name=name,
        thought="",
        code="",
        code_hash=name,
        generation=1,
        status=CandidateStatus.SCORED,
        figures=summarise(name, results),
    )


def leaderboard(*candidates: CandidateRecord) -> str:
    console = Console(width=250, record=True)
    console.print(leaderboard_table(list(enumerate(candidates, 1)), "leaderboard"))
    return console.export_text()


def test_a_policy_that_did_not_move_is_named_no_change_from_the_reference():
    # zero gradient where it trains: the trained policy is the reference, its fitness the unchanged one
    still = scored("still", trainings(UNCHANGED, kl=0.0))
    assert still.figures is not None and still.figures.degenerate == "no change from the reference (KL ≈ 0)"
    assert "no change from the reference (KL ≈ 0)" in leaderboard(still)
    assert "no change from the reference (KL ≈ 0)" in describe(still)["result"]


def test_a_policy_at_or_below_an_unchanged_ones_fitness_is_named_so():
    # swapped policy and reference: it moved (KL well above 0) and got nowhere
    swapped = scored("swapped", trainings(UNCHANGED - 0.02, kl=2.5))
    assert swapped.figures is not None
    assert swapped.figures.degenerate == f"no better than the unchanged policy ({UNCHANGED:.3f})"
    assert "no better than the unchanged policy (0.500)" in describe(swapped)["result"]


def test_collapsed_trainings_are_named_beside_the_figure():
    # huge gradients: the policy is wrecked, every seed collapses
    wrecked = scored("wrecked", trainings(0.1, kl=40.0, collapsed=True))
    assert wrecked.figures is not None and wrecked.figures.degenerate == "collapsed: worse than not training"
    assert "collapsed: worse than not training" in leaderboard(wrecked)


def test_ordinary_figures_name_nothing():
    good = scored("good", trainings(UNCHANGED + 0.2, kl=3.0))
    assert good.figures is not None and good.figures.degenerate is None
    shown = leaderboard(good)
    assert "0.701" in shown and "unchanged" not in shown and "KL ≈ 0" not in shown
    # without the unchanged policy's fitness (an evaluator that does not know it) a low figure is just low
    unknown = summarise(
        "low", [t.model_copy(update={"unchanged_fitness": None}) for t in trainings(0.1, 2.0)]
    )
    assert unknown.degenerate is None
