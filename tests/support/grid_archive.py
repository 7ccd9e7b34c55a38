"""A sample run as the fitness pipeline writes it today: every candidate trained at each beta of a
grid with three seeds (one collapsed), paired with DPO, its best transferred to held-out variants."""

from pathlib import Path

from discovery.archive import Archive
from discovery.fitness import summarise
from discovery.records import EvaluationResult, SeedResult, TransferRecord
from tests.support.archive_factory import build_run

BETAS = (0.05, 0.1, 0.3)


def grid_metrics(
    name: str, peak: float, best: int, baseline: EvaluationResult | None = None
) -> EvaluationResult:
    """Three seeds at each beta of BETAS, best at BETAS[best]; the first seed at the lowest beta
    collapsed."""
    trainings = [
        SeedResult(
            seed=seed,
            beta=beta,
            fitness=peak - 0.05 * abs(index - best) + 0.01 * seed,
            reward=peak * 2 - index * 0.1,
            kl=0.1 / beta,
            collapsed=index == 0 and seed == 0,
            seconds=2,
        )
        for index, beta in enumerate(BETAS)
        for seed in range(3)
    ]
    return summarise(name, trainings, baseline=baseline)


def held_out(name: str, fitness: float, baseline: EvaluationResult | None = None) -> EvaluationResult:
    trainings = [
        SeedResult(seed=s, beta=0.1, fitness=fitness + 0.01 * s, kl=1.0, seconds=1) for s in range(3)
    ]
    return summarise(name, trainings, baseline=baseline)


def build_grid_run(runs_dir: Path, run_id: str) -> None:
    """A sample run (`build_run`, six proposals) retrained over a beta grid and paired with DPO,
    whose best were transferred: on the `data` variant in the search's order, on `model` one of
    them failed."""
    build_run(runs_dir, run_id, proposals=6)
    with Archive.open(runs_dir, run_id, writable=True) as archive:
        dpo = archive.candidate("seed-dpo")
        dpo = dpo.model_copy(update={"figures": grid_metrics("dpo", 0.6, 1)})
        archive.update_candidate(dpo)
        baseline = dpo.figures
        archive.add_transfer(TransferRecord(
            run_id=run_id, variant="data", candidate_id=dpo.id, name="dpo", result=held_out("dpo", 0.55)
        ))  # fmt: skip
        archive.add_transfer(TransferRecord(
            run_id=run_id, variant="model", candidate_id=dpo.id, name="dpo", result=held_out("dpo", 0.5)
        ))  # fmt: skip
        for index, candidate in enumerate(c for c in archive.candidates() if c.generation and c.figures):
            assert candidate.fitness is not None
            result = grid_metrics(candidate.name, candidate.fitness, index % 3, baseline)
            archive.update_candidate(candidate.model_copy(update={"figures": result}))
            data = held_out(candidate.name, candidate.fitness - 0.05, held_out("dpo", 0.55))
            archive.add_transfer(TransferRecord(
                run_id=run_id, variant="data", candidate_id=candidate.id, name=candidate.name, result=data
            ))  # fmt: skip
            archive.add_transfer(TransferRecord(
                run_id=run_id, variant="model", candidate_id=candidate.id, name=candidate.name,
                result=None if index == 0 else held_out(candidate.name, 0.45, held_out("dpo", 0.5)),
                failure="CUDA out of memory" if index == 0 else None,
            ))  # fmt: skip
