"""Islands: the population split into `search.islands` sub-populations that evolve apart and meet
now and then, so that one early leader cannot pull every proposal towards itself.

Every proposal belongs to one island: the slots of a generation are dealt out round-robin, counting
on from the previous generation's, so a population of one visits the islands in turn. The seeds
belong to every island. Before a generation is proposed, two kinds of event may change the islands
(`IslandEvent`, recorded in the archive):

- a reseed: an island whose best candidate arrived `stall_generations` or more generations ago
  (no proposal of its own and no migrant has beaten it since) restarts from the run's seeds plus the
  best elite of the behaviour map, forgetting everything else it held;
- a migration, every `migration_interval` generations: each island's best `migration_size`
  candidates (by the leaderboard's ranking, the lower end of the fitness interval) that the next
  island in the ring lacks are copied to it.

An island's population is therefore what its last reseed (or the run's start) gave it, its own
proposals since, and the migrants it received since, all of which the archive holds: a resumed run
sees the islands it left. Everything here is a function of ranked candidates and recorded events.
"""

from collections.abc import Iterable

from discovery.config import SearchSettings
from discovery.population.behaviour import elites
from discovery.records import CandidateRecord, IslandEvent, IslandEventKind


def island_of_slot(generation: int, slot: int, population: int, islands: int) -> int:
    """The island of the `slot`-th proposal (from 0) of `generation` (from 1)."""
    return ((generation - 1) * population + slot) % islands


def arrivals(
    island: int, seeds: list[str], ranked: list[CandidateRecord], events: list[IslandEvent]
) -> dict[str, int]:
    """The island's population among `ranked` and the seeds, each with the generation it arrived in:
    since its last reseed (or the start), that reseed's candidates, its own proposals and its migrants."""
    reseeds = [e for e in events if e.island == island and e.kind is IslandEventKind.RESEED]
    start = reseeds[-1].generation if reseeds else 0
    held = {candidate: start for candidate in (reseeds[-1].candidates if reseeds else seeds)}
    for event in events:
        if event.island == island and event.kind is IslandEventKind.MIGRATION and event.generation >= start:
            for candidate in event.candidates:
                held.setdefault(candidate, event.generation)
    for candidate in ranked:
        if candidate.island == island and candidate.generation >= start:
            held.setdefault(candidate.id, candidate.generation)
    return held


def island_best(
    island: int, seeds: list[str], ranked: list[CandidateRecord], events: list[IslandEvent]
) -> list[CandidateRecord]:
    """The island's candidates with figures, best first (`ranked` is the leaderboard's order)."""
    held = arrivals(island, seeds, ranked, events)
    return [candidate for candidate in ranked if candidate.id in held]


def events_before(
    generation: int,
    run_id: str,
    settings: SearchSettings,
    seeds: list[str],
    ranked: list[CandidateRecord],
    events: list[IslandEvent],
) -> list[IslandEvent]:
    """The reseeds, then the migrations, that take effect before `generation` is proposed, given
    the leaderboard `ranked` (best first) and the events recorded before. One island has neither."""
    if settings.islands < 2:
        return []
    new = [
        IslandEvent(
            run_id=run_id,
            generation=generation,
            island=island,
            kind=IslandEventKind.RESEED,
            candidates=_restart(seeds, ranked, settings.behaviour_map),
        )
        for island in range(settings.islands)
        if _stalled(island, generation, settings.stall_generations, seeds, ranked, events)
    ]
    if generation > 1 and (generation - 1) % settings.migration_interval == 0 and settings.migration_size:
        after_reseeds = [*events, *new]
        populations = [arrivals(island, seeds, ranked, after_reseeds) for island in range(settings.islands)]
        for source in range(settings.islands):
            target = (source + 1) % settings.islands
            migrants = [
                candidate.id
                for candidate in ranked
                if candidate.id in populations[source] and candidate.id not in populations[target]
            ][: settings.migration_size]
            if migrants:
                new.append(
                    IslandEvent(
                        run_id=run_id,
                        generation=generation,
                        island=target,
                        kind=IslandEventKind.MIGRATION,
                        candidates=migrants,
                        source=source,
                    )
                )
    return new


def _stalled(
    island: int,
    generation: int,
    stall: int,
    seeds: list[str],
    ranked: list[CandidateRecord],
    events: list[IslandEvent],
) -> bool:
    """Whether `stall` generations have been proposed since the island's best arrived."""
    held = arrivals(island, seeds, ranked, events)
    best = next((candidate for candidate in ranked if candidate.id in held), None)
    return best is not None and generation - 1 - held[best.id] >= stall


def _restart(seeds: list[str], ranked: Iterable[CandidateRecord], behaviour_map: bool) -> list[str]:
    """A reseeded island's population: the run's seeds, and the map's best elite that is no seed."""
    elite = next((c.id for c in elites(ranked).values() if not c.is_seed), None) if behaviour_map else None
    return [*seeds, elite] if elite else list(seeds)
