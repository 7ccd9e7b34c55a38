"""Plain progress lines, their throttling, the ETA, and observers composed: without a process or a model."""

import re

import pytest

from discovery.config import RunConfig
from discovery.errors import UserError
from discovery.fitness import summarise
from discovery.progress import progress_log
from discovery.records import CandidateRecord, CandidateStatus, RunRecord, SeedResult
from discovery.ui.log_lines import LogLinesObserver, ProgressLines, progress_logging
from discovery.ui.observers import Observers
from discovery.ui.tally import RunTally, duration
from discovery.ui.views import fitness_text

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_record(generations: int = 4, seeds: list[str] | None = None) -> RunRecord:
    config = RunConfig(generations=generations, seed_objectives=seeds or ["dpo", "slic"])
    return RunRecord(id="20261129-101500-ab12", config=config, versions={}, proposer="builtin")


def candidate(
    cid: str, name: str, fitness: float | None, generation: int = 1, seeds: int = 1, **fields
) -> CandidateRecord:
    """A candidate scored on `seeds` seeds (1: no interval), or failed without a `fitness`."""
    metrics = None
    if fitness is not None:
        spread = [0.01 * (s - (seeds - 1) / 2) for s in range(seeds)]  # around `fitness`
        trainings = [SeedResult(seed=s, fitness=fitness + d, kl=2.5, seconds=1) for s, d in enumerate(spread)]
        metrics = summarise(name, trainings, noise_sd=0.01 if seeds > 1 else None)
    return CandidateRecord(
        id=cid,
        run_id="20261129-101500-ab12",
        generation=generation,
        name=name,
        thought="",
        code="",
        code_hash=cid,
        is_seed=cid.startswith("seed-"),
        status=fields.pop("status", CandidateStatus.SCORED if metrics else CandidateStatus.FAILED),
        figures=metrics,
        **fields,
    )


@pytest.fixture
def log_file(tmp_path):
    """Where `progress_log` writes during the test (nothing on stderr); read it with `lines()`."""
    path = tmp_path / "progress.log"
    with progress_logging(lines_on_stderr=False, log_file=path):
        yield path


def lines(path) -> list[str]:
    text = path.read_text()
    assert all(STAMP.match(line) for line in text.splitlines()), text
    return [STAMP.sub("", line) for line in text.splitlines()]


def test_a_flood_of_fractions_gives_a_line_per_phase_and_one_per_interval(log_file) -> None:
    clock = Clock()
    progress = ProgressLines(every=30.0, clock=clock)
    for step in range(1000):  # a thousand reports within ten seconds: one line
        clock.now += 0.01
        progress.report("g1-c1 blend", "train", step / 1000)
    clock.now += 25.0
    progress.report("g1-c1 blend", "train", 0.5)  # 35 s after the first line: a second one
    progress.report("g1-c1 blend", "score", 0.0)  # a new phase at once
    progress.report("g1-c2 other", "train", 0.1)  # another subject is throttled on its own
    progress.forget("g1-c1 blend")
    progress.report("g1-c1 blend", "score", 0.2)  # forgotten: starts afresh
    assert lines(log_file) == [
        "g1-c1 blend: train 0%",
        "g1-c1 blend: train 50%",
        "g1-c1 blend: score 0%",
        "g1-c2 other: train 10%",
        "g1-c1 blend: score 20%",
    ]


def test_the_eta_comes_from_the_generations_this_process_ran() -> None:
    clock = Clock()
    tally = RunTally(clock=clock)
    tally.started(run_record(generations=5))
    assert tally.stage == "seeds 0/2"
    dpo = candidate("seed-dpo", "dpo", 0.6, generation=0)
    tally.finished(dpo, dpo)
    assert tally.stage == "seeds 1/2" and tally.eta() is None
    tally.generation_started(1, 5)
    assert tally.eta() is None  # no generation finished yet: nothing to go by
    clock.now += 40.0
    tally.generation_started(3, 5)  # two generations in 40 s: 20 s each, three to go
    assert tally.stage == "generation 3/5" and tally.eta() == 60.0
    clock.now += 15.0
    assert tally.eta() == 45.0
    assert (duration(45), duration(605), duration(7322)) == ("45s", "10m05s", "2h02m")


def test_the_plain_observer_says_what_happened_as_it_happens(log_file) -> None:
    clock = Clock()
    observer = LogLinesObserver(ProgressLines(clock=clock), RunTally(clock=clock))
    dpo = candidate("seed-dpo", "dpo", 0.61, generation=0, seeds=3)
    slic = candidate("seed-slic", "slic", 0.58, generation=0, seeds=3)
    blend = candidate("g1-c1", "blend", 0.7, seeds=3)
    observer.run_started(run_record(generations=4), "builtin")
    observer.task_progress("reference", 0.25)
    observer.task_progress("reference", 0.5)  # same phase, within the interval: no line
    observer.llm_spend(0, 0)
    observer.candidate_finished(dpo, dpo)
    observer.candidate_finished(slic, dpo)
    observer.generation_started(1, 4)
    observer.notice("generation 1: asking the builtin proposer")
    observer.notice("generation 1: asking the builtin proposer")  # said already
    observer.llm_spend(1200, 300)
    observer.candidate_phase(candidate("g1-c1", "blend", None), "train", 0.1)
    clock.now += 60.0
    observer.generation_started(2, 4)
    observer.candidate_finished(blend, blend)
    observer.candidate_finished(
        candidate("g2-c1", "nan", None, generation=2, reason="loss became NaN"), blend
    )
    dpo_fitness, blend_fitness = fitness_text(dpo), fitness_text(blend)
    assert re.fullmatch(r"0\.610 \[0\.\d{3}, 0\.\d{3}\]", dpo_fitness)  # with its interval
    assert lines(log_file) == [
        "run 20261129-101500-ab12 · proposer builtin · evaluator sentiment · 4 generations of 1",
        "preparing task: reference 25%",
        f"seeds 1/2 · seed-dpo dpo: scored · fitness {dpo_fitness} · KL 2.50 · the best so far",
        f"seeds 2/2 · seed-slic slic: scored · fitness {fitness_text(slic)} · KL 2.50"
        f" · best so far dpo (seed-dpo) {dpo_fitness}",
        "generation 1/4",
        "generation 1: asking the builtin proposer",
        "LLM tokens: 1,200 in / 300 out",
        "g1-c1 blend: train 10%",
        "generation 2/4 · ETA 3m00s",
        f"generation 2/4 · g1-c1 blend: scored · fitness {blend_fitness} · KL 2.50 · the best so far"
        " · ETA 3m00s",
        "generation 2/4 · g2-c1 nan: failed: loss became NaN"
        f" · best so far blend (g1-c1) {blend_fitness} · ETA 3m00s",
    ]


def test_a_resumed_run_starts_from_the_archive_s_best_not_from_a_lucky_single_seed() -> None:
    tally = RunTally()
    tally.started(run_record())  # five seeds a candidate may get; the best needs three
    steady = candidate("g1-c1", "steady", 0.70, seeds=3)
    lucky = candidate("g1-c2", "lucky", 0.95, seeds=1)  # higher, on one seed: not yet eligible
    raced = candidate(
        "g2-c1", "raced", 0.72, generation=2, seeds=3, status=CandidateStatus.RUNNING
    )  # racing on, eligible
    for known in (steady, lucky):
        tally.known(known)
    assert tally.best is steady and tally.counts[CandidateStatus.SCORED] == 2
    tally.known(raced)
    assert tally.best is raced and tally.counts[CandidateStatus.RUNNING] == 0  # not counted: undecided


def test_without_a_terminal_the_question_is_answered_yes_in_the_log(log_file) -> None:
    assert LogLinesObserver().ask("cancel the 2 job(s) in flight?") is True
    (line,) = lines(log_file)
    assert line.startswith("cancel the 2 job(s) in flight? no terminal to answer: yes")


class Recorder:
    """An observer that writes down what it is told and answers `answer`."""

    def __init__(self, name: str, journal: list, answer: bool) -> None:
        self.name, self.journal, self.answer = name, journal, answer

    def __enter__(self):
        self.journal.append((self.name, "enter"))
        return self

    def __exit__(self, *exc_info) -> None:
        self.journal.append((self.name, "exit"))

    def __getattr__(self, event: str):
        return lambda *args: self.journal.append((self.name, event))

    def ask(self, question: str) -> bool:
        self.journal.append((self.name, "ask"))
        return self.answer


def test_composed_observers_all_hear_everything_and_the_display_answers_and_closes_first() -> None:
    journal: list = []
    tracker, display = Recorder("tracker", journal, True), Recorder("display", journal, False)
    with Observers(tracker, display) as observers:
        observers.generation_started(1, 3)
        observers.candidate_finished(candidate("g1-c1", "blend", 0.5), None)
        assert observers.ask("cancel?") is False
    assert journal == [
        ("tracker", "enter"),
        ("display", "enter"),
        ("tracker", "generation_started"),
        ("display", "generation_started"),
        ("tracker", "candidate_finished"),
        ("display", "candidate_finished"),
        ("display", "ask"),
        ("display", "exit"),
        ("tracker", "exit"),
    ]


def test_a_log_file_that_is_a_folder_is_refused_and_handlers_never_outlive_the_command(tmp_path) -> None:
    handlers = list(progress_log.handlers)
    refused = pytest.raises(UserError, match=r"cannot write log file .*: it is not a regular file")
    with refused, progress_logging(lines_on_stderr=True, log_file=tmp_path):
        pass
    with progress_logging(lines_on_stderr=True, log_file=tmp_path / "a.log"):
        assert len(progress_log.handlers) == len(handlers) + 2
    assert progress_log.handlers == handlers
