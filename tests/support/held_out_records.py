"""A held-out confirmation built by hand: each proposal's differences with the baseline chosen seed by
seed, so that its p-values are known exactly (an exact sign-flip test over n differences of one sign
gives 2/2**n)."""

from collections.abc import Collection

from discovery.fitness import summarise
from discovery.records import CandidateRecord, CandidateStatus, SeedResult, TransferRecord
from discovery.transfer import TransferSummary

RUN_ID = "run-held"
BASELINE = "seed-dpo"
BASELINE_FITNESS = 0.6
VARIANTS = ("data", "model")


def candidate(id: str, name: str, search_fitness: float = 0.7) -> CandidateRecord:
    """A scored candidate of the run; `seed-...` ids are seeds."""
    is_seed = id.startswith("seed-")
    trainings = [SeedResult(seed=seed, fitness=search_fitness, seconds=1) for seed in range(3)]
    return CandidateRecord(
        id=id,
        run_id=RUN_ID,
        generation=0 if is_seed else 1,
        name=name,
        thought="",
        code="def loss(*args):\n    return 0\n",
        code_hash=f"hash-{id}",
        is_seed=is_seed,
        status=CandidateStatus.SCORED,
        figures=summarise(name, trainings),
    )


def held_out_summary(differences: dict[str, list[float]], untrained: Collection[str] = ()) -> TransferSummary:
    """The baseline and one proposal per entry of `differences` (`g1-cK` named by the key, best
    first), each trained on the held-out variants: its k-th difference with the baseline is on
    variant k % 2 at fresh seed 100 + k // 2. A proposal named in `untrained` failed on the last
    variant (its confirmation is incomplete)."""
    proposals = [candidate(f"g1-c{index}", name) for index, name in enumerate(differences)]
    found = TransferSummary([], [candidate(BASELINE, "dpo"), *proposals])
    longest = max(map(len, differences.values()), default=0)
    seeds_of = {
        variant: [100 + k // 2 for k in range(index, longest, 2)] for index, variant in enumerate(VARIANTS)
    }
    for variant, seeds in seeds_of.items():
        baseline = [SeedResult(seed=seed, fitness=BASELINE_FITNESS, seconds=1) for seed in seeds]
        found.results[(variant, BASELINE)] = _record(variant, found.candidates[0], baseline)
    for proposal, values in zip(proposals, differences.values(), strict=True):
        for index, variant in enumerate(VARIANTS):
            if variant == VARIANTS[-1] and proposal.name in untrained:
                found.results[(variant, proposal.id)] = _record(variant, proposal, [])
                continue
            trainings = [
                SeedResult(seed=100 + k // 2, fitness=BASELINE_FITNESS + values[k], seconds=1)
                for k in range(index, len(values), 2)
            ]
            found.results[(variant, proposal.id)] = _record(variant, proposal, trainings)
    return found


def _record(variant: str, candidate: CandidateRecord, trainings: list[SeedResult]) -> TransferRecord:
    """The candidate's record on the variant: its trainings' figures, or a failure when it has none."""
    return TransferRecord(
        run_id=RUN_ID,
        variant=variant,
        candidate_id=candidate.id,
        name=candidate.name,
        result=summarise(candidate.name, trainings) if trainings else None,
        failure=None if trainings else "training produced NaN loss",
    )
