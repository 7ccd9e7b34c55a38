"""Islands: each island's best migrate to the next at the interval, a stalled island is reseeded
from the seeds and the map's best elite, and proposals are dealt to islands round-robin."""

from discovery.config import SearchSettings
from discovery.fitness import summarise
from discovery.population.islands import events_before, island_best, island_of_slot
from discovery.records import CandidateRecord, CandidateStatus, IslandEventKind, SeedResult

SEEDS = ["seed-dpo", "seed-slic"]


def scored(
    id: str, fitness: float, island: int | None, generation: int, cell: str | None = None
) -> CandidateRecord:
    figures = summarise(id, [SeedResult(seed=0, fitness=fitness, seconds=1.0)])
    return CandidateRecord(
        id=id, run_id="r", generation=generation, name=id, thought="", code="", code_hash=id,
        is_seed=generation == 0, island=island, cell=cell, status=CandidateStatus.SCORED, figures=figures,
    )  # fmt: skip


def leaderboard(*candidates: CandidateRecord) -> list[CandidateRecord]:
    return sorted(candidates, key=lambda c: -c.figures.ranking)


def test_a_population_of_one_visits_the_islands_in_turn_and_larger_ones_deal_slots_round_robin() -> None:
    assert [island_of_slot(g, 0, 1, 3) for g in range(1, 7)] == [0, 1, 2, 0, 1, 2]
    assert [island_of_slot(2, slot, 4, 3) for slot in range(4)] == [1, 2, 0, 1]


def test_each_island_s_best_migrates_to_the_next_island_at_the_interval_only() -> None:
    settings = SearchSettings(islands=3, migration_interval=3, migration_size=1, stall_generations=100)
    ranked = leaderboard(
        scored("seed-dpo", 0.5, None, 0),
        scored("g1-c1", 0.9, 0, 1),
        scored("g1-c2", 0.8, 0, 1),
        scored("g2-c1", 0.7, 1, 2),
        scored("g3-c1", 0.3, 2, 3),
    )
    assert all(events_before(g, "r", settings, SEEDS, ranked, []) == [] for g in (2, 3, 5, 6))
    events = events_before(4, "r", settings, SEEDS, ranked, [])
    moved = {(e.source, e.island): e.candidates for e in events}
    assert all(e.kind is IslandEventKind.MIGRATION for e in events)
    # island 2's best is the seed every island has: its best the next island lacks is its own
    assert moved == {(0, 1): ["g1-c1"], (1, 2): ["g2-c1"], (2, 0): ["g3-c1"]}
    assert [c.id for c in island_best(1, SEEDS, ranked, events)] == ["g1-c1", "g2-c1", "seed-dpo"]
    assert [c.id for c in island_best(0, SEEDS, ranked, events)] == ["g1-c1", "g1-c2", "seed-dpo", "g3-c1"]


def test_a_stalled_island_is_reseeded_from_the_seeds_and_the_map_s_best_elite() -> None:
    settings = SearchSettings(islands=2, migration_interval=1000, stall_generations=2)
    ranked = leaderboard(
        scored("seed-dpo", 0.5, None, 0, "falls·bounded·margin"),
        scored("g1-c1", 0.9, 0, 1, "stops·bounded·margin"),
        scored("g2-c1", 0.2, 1, 2, "grows·unbounded·margin"),
        scored("g4-c1", 0.1, 1, 4, "grows·unbounded·margin"),
    )
    assert events_before(2, "r", settings, SEEDS, ranked, []) == []
    # island 1's best is a seed, there since the start: generations 1 and 2 did not beat it
    (event,) = events_before(3, "r", settings, SEEDS, ranked, [])
    assert (event.kind, event.island, event.candidates) == (IslandEventKind.RESEED, 1, [*SEEDS, "g1-c1"])
    # after the reseed, island 1 holds the seeds, the elite and its own later proposals only
    assert [c.id for c in island_best(1, SEEDS, ranked, [event])] == ["g1-c1", "seed-dpo", "g4-c1"]
    # then island 0 stalls (its best arrived in generation 1); island 1's elite has just arrived
    (later,) = events_before(4, "r", settings, SEEDS, ranked, [event])
    assert (later.kind, later.island) == (IslandEventKind.RESEED, 0)


def test_one_island_has_no_migrations_or_reseeds() -> None:
    settings = SearchSettings(islands=1, migration_interval=1, stall_generations=1)
    ranked = leaderboard(scored("seed-dpo", 0.5, None, 0), scored("g1-c1", 0.9, None, 1))
    assert events_before(9, "r", settings, SEEDS, ranked, []) == []
