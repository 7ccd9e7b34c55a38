"""One meaning for OBJECTIVE and CANDIDATE on every command and in the browser.

A user names an objective or candidate as `RUN/CANDIDATE` (id or name), as a shipped objective
(`dpo`, `discopop`, ...) or a `.py` file, or by id or name alone in a run (`--run`, else the newest
run). Shipped names and files win over archived names, so `dpo` always means the shipped DPO; when
the run was seeded with it, the run's seed (with its measured figures) is what `show` displays.
A shipped objective outside any run becomes a `CandidateRecord` of the pseudo-run `shipped`,
carrying the paper's figures, so every view has one shape to draw.
"""

from dataclasses import dataclass, field
from pathlib import Path

from discovery.archive import ARCHIVE_FILE, Archive, ArchiveError
from discovery.errors import UserError
from discovery.objectives import PAPER_BETA, Objective, UnknownObjective, load_objective, shipped_catalog
from discovery.paths import default_runs_dir
from discovery.records import CandidateRecord, CandidateStatus, ExchangeRecord, ReportedFigures, RunRecord

SHIPPED_RUN = "shipped"


@dataclass(frozen=True)
class CandidateView:
    """A candidate with what surrounds it in its run: lineage and the LLM exchange that wrote it."""

    candidate: CandidateRecord
    run: RunRecord | None = None  # None: a shipped objective or a file, seen outside any run
    parents: list[tuple[str, CandidateRecord | None]] = field(default_factory=list)  # id, record if stored
    children: list[CandidateRecord] = field(default_factory=list)
    exchange: ExchangeRecord | None = None

    @property
    def objective(self) -> Objective:
        """The candidate's code as an objective, its origin naming the run and candidate."""
        origin = f"archive:{self.run.id}/{self.candidate.id}" if self.run else SHIPPED_RUN
        return Objective(name=self.candidate.name, source=self.candidate.code, origin=origin)

    @property
    def beta(self) -> float:
        """The beta the candidate does best at, else the run's (the first `beta` in its evaluator's
        settings, or the middle of its grid), else the paper's."""
        metrics = self.candidate.figures
        if metrics is not None and metrics.best_beta is not None:
            return metrics.best_beta
        return run_beta(self.run) if self.run else PAPER_BETA

    def to_json(self) -> dict:
        return {
            "run": self.run.id if self.run else SHIPPED_RUN,
            "candidate": self.candidate.model_dump(mode="json"),
            "fitness": self.candidate.fitness,
            "parents": [{"id": pid, "name": p.name if p else None} for pid, p in self.parents],
            "children": [{"id": c.id, "name": c.name} for c in self.children],
            "exchange": self.exchange.model_dump(mode="json") if self.exchange else None,
            "beta": self.beta,
        }


def resolve_objective(spec: str, runs_dir: Path | None = None, run_id: str | None = None) -> Objective:
    """The objective `spec` names (see the module docstring); a user error listing the ways otherwise."""
    try:
        return load_objective(spec)
    except UnknownObjective:  # a file that cannot be read is reported as such, not looked up in a run
        return resolve_candidate(spec, runs_dir, run_id).objective


def resolve_candidate(spec: str, runs_dir: Path | None = None, run_id: str | None = None) -> CandidateView:
    """The candidate `spec` names, with its lineage and exchange (see the module docstring)."""
    runs_dir = runs_dir or default_runs_dir()
    try:
        objective = load_objective(spec)  # a file (`/dev/null` too) is a file, never RUN/CANDIDATE
    except UnknownObjective:
        objective = None
    if objective is None and run_id is None and "/" in spec:
        run_id, _, key = spec.rpartition("/")
        with Archive.open(runs_dir, run_id) as archive:
            candidate = archive.find_candidate(key)
            if candidate is None:
                run = archive.run_dir.name
                raise UserError(f"no candidate '{key}' in run {run} (see `discover archive {run}`)")
            return view_in_archive(archive, candidate)
    in_a_run = run_id is not None or has_runs(runs_dir)
    if objective is not None:
        if objective.origin == "shipped" and in_a_run:
            with Archive.open(runs_dir, run_id) as archive:
                seeds = [
                    c for c in archive.candidates(generation=0) if c.is_seed and c.name == objective.name
                ]
                if seeds:
                    return view_in_archive(archive, seeds[0])
        return shipped_view(objective)
    searched = None
    if in_a_run:
        with Archive.open(runs_dir, run_id) as archive:
            candidate = archive.find_candidate(spec)
            if candidate is not None:
                return view_in_archive(archive, candidate)
            searched = archive.run_dir.name
    where = f"not in run {searched} and " if searched else ""
    known = ", ".join(shipped_catalog())
    raise UserError(
        f"unknown objective or candidate '{spec}': {where}not a shipped objective ({known}) nor a .py "
        "file; see `discover archive` for ids and names, or give RUN/CANDIDATE"
    )


def view_in_archive(archive: Archive, candidate: CandidateRecord) -> CandidateView:
    """Gather the lineage and exchange of a stored candidate."""
    exchange = None
    if candidate.exchange_id is not None:
        try:
            exchange = archive.exchange(candidate.exchange_id)
        except ArchiveError:
            exchange = None  # the loop may record the candidate before its exchange: show what exists
    parents = [(pid, archive.find_candidate(pid)) for pid in candidate.parents]
    return CandidateView(candidate, archive.run(), parents, archive.children(candidate.id), exchange)


def shipped_view(objective: Objective) -> CandidateView:
    """A shipped objective or an objective file, outside any run (shipped ones carry the paper's figures)."""
    entry = shipped_catalog().get(objective.name) if objective.origin == "shipped" else None
    reported = ReportedFigures.of_shipped(objective.name) if entry else None
    candidate = CandidateRecord.of(
        objective,
        id=objective.name,
        run_id=SHIPPED_RUN,
        generation=0,
        is_seed=entry is not None,
        status=CandidateStatus.PROPOSED,
        reported=reported,
    )
    return CandidateView(candidate)


def run_beta(run: RunRecord) -> float:
    """The beta a run trained with (the first `beta` in its evaluator's settings), else the paper's:
    the beta at which its objectives' curves are drawn."""
    found = _find_beta(run.evaluator_config)
    return PAPER_BETA if found is None else found


def has_runs(runs_dir: Path) -> bool:
    """Whether `runs_dir` holds at least one run's archive (a missing folder holds none)."""
    try:
        return any((folder / ARCHIVE_FILE).is_file() for folder in runs_dir.iterdir())
    except OSError:
        return False


def _find_beta(config: object) -> float | None:
    if not isinstance(config, dict):
        return None
    value = config.get("beta")
    grid = config.get("betas")
    if isinstance(grid, list) and grid:
        value = sorted(grid)[len(grid) // 2]
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return next((b for b in map(_find_beta, config.values()) if b is not None), None)
