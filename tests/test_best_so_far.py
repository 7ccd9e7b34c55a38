"""The best so far that the live display, the progress lines and the trackers show is the archive's
best at that moment (`Archive.best()`), never merely the highest fitness seen: a lucky first seed
crowns nothing there either. A whole run on the noisy task of `tests.support.noisy_runs`."""

from pathlib import Path

from discovery.archive import Archive
from discovery.observer import SilentObserver
from discovery.records import CandidateRecord, RunRecord
from tests.support.noisy_runs import proposal, run_loop


class BestWatcher(SilentObserver):
    """At each candidate's end: who finished, the best the loop tells the views, the archive's best."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.run_id = ""
        self.seen: list[tuple[str, str | None, str | None]] = []

    def run_started(self, run: RunRecord, proposer: str) -> None:
        self.run_id = run.id

    def candidate_finished(self, candidate: CandidateRecord, best: CandidateRecord | None) -> None:
        with Archive.open(self.runs_dir, self.run_id) as archive:  # read-only, beside the run's writer
            stored = archive.best()
        self.seen.append((candidate.name, best and best.name, stored and stored.name))


def test_the_views_best_is_the_archive_s_best_at_every_step(tmp_path) -> None:
    watcher = BestWatcher(tmp_path / "runs")
    steady, lucky = proposal("steady_q0.75", "ipo"), proposal("lucky_q0.55", "slic")
    candidates = run_loop(tmp_path, [steady, lucky], observer=watcher)

    assert watcher.seen == [
        ("dpo", "dpo", "dpo"),
        ("steady_q0.75", "steady_q0.75", "steady_q0.75"),
        ("lucky_q0.55", "steady_q0.75", "steady_q0.75"),
    ]
    assert candidates["best of run"].name == "steady_q0.75"
    # the lucky candidate's first seed beat everything: a display crowning the top score would err
    lucky_first_seed = next(t.fitness for t in candidates["lucky_q0.55"].figures.seeds if t.seed == 0)
    assert lucky_first_seed > candidates["steady_q0.75"].figures.fitness
