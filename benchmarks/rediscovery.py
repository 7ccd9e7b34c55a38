"""Does the search rediscover what is known to beat DPO? The benchmark every change to the search is
judged by.

On a task suite where some shipped objectives are known to beat DPO on the meta-test variants
(`discover separation` measures it), each of `--runs` runs of `discover run` is seeded with DPO
alone: the known winners are neither seeds nor anything the proposer is shown (the built-in proposer
starts from the run's own seeds; an LLM proposer's pretrained knowledge of published losses cannot
be removed, and the output says so). Every run spends the same fixed budget, in trainings
(`--max-trainings`: every candidate's, DPO's included) or in time, with its own `--random-seed`, in
its own runs folder under `--output`; its answer is what its end-of-run confirmation confirmed on
the meta-test variants, on fresh seeds, with Holm-corrected p-values. Per run, read from its archive:

- gain: the best confirmed proposal's mean paired difference with DPO over its meta-test trainings
  (`Confirmation.difference`; 0 when nothing is confirmed);
- gap closed: the gain over the known gain (the best known objective's mean paired gain over DPO on
  the meta-test variants), at least 0, above 1 when the search beat the known winners. The known gain
  is measured at each objective's best beta on each variant, a tuning the confirmation (at the beta
  its search chose) does not get, so it is a ceiling rather than a par;
- confirmed: how many proposals the confirmation confirmed;
- trainings to first: the trainings of every candidate in creation order (the seed's included) up
  to and including the first confirmed proposal's; none when nothing is confirmed;
- trainings, wall time: what the run spent (a budget in trainings stops proposing; candidates still
  racing finish their rounds, and the confirmation comes on top);
- cells: how many distinct cells of the behaviour map its proposals reached (validated ones, not
  duplicates; `discovery.population.behaviour`): how widely it explored. A run archived before the
  map has no cells recorded: its proposals are placed by validating their code in the sandbox again.

Two searches are compared by running the benchmark once with each (`--config FILE` with its
`search:` settings; `benchmarks/searches/classic.yaml` is the search before islands, the map and
program mutations), at the same budget. `--remeasure` reads the runs already under `--output` again
(after a change to what is measured) without running anything.

It prints figures and asserts nothing. The median of the gap closed over the runs is the headline.

    python benchmarks/rediscovery.py --known NAME,... (--known-gain X | --separation FILE.json)
        (--budget-trainings K | --time-limit 1h) [--runs 3] [--proposer builtin] [--output DIR]
        [--json] [--remeasure] [discover run options: --suite S, --set KEY=VALUE, --config FILE, ...]

`--separation` reads the known gain from `discover separation --json` on the same suite: the largest,
over the known objectives, of the mean over the meta-test variants of each one's paired difference
with DPO.

Tasks and DPO's seed scores come from the usual cache (`$DISCOVER_CACHE`, else the runs folder's),
so a suite built once (by `discover separation`, say) is not built again; DPO's cached trainings
still count, since the archive holds them.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from discovery.archive import Archive
from discovery.config import duration
from discovery.errors import UserError
from discovery.objectives import shipped_names
from discovery.objectives.objective import canonical_name
from discovery.paths import CACHE_ENV, cache_root, default_runs_dir
from discovery.population.behaviour import PLACED, cell_of, cells_reached
from discovery.records import CandidateRecord
from discovery.sandbox import Validator
from discovery.transfer import Confirmation
from discovery.ui.figures import confirmation_of

BASELINE = "dpo"
GENERATIONS = 100_000  # as many as a run may have: the budget ends it, not a generation count
# `discover run` options the benchmark sets itself, the same for every run.
OWN_OPTIONS = (
    "--seed-objectives",
    "--random-seed",
    "--runs-dir",
    "--json",
    "--generations",
    "-g",
    "--max-trainings",
    "--time-limit",
    "--proposer",
    "--resume",
    "--dry-run",
)
LOG_FILE = "discover-run.log"


@dataclass
class RunFigures:
    """One run of the benchmark: what it found on the meta-test and what it spent."""

    random_seed: int
    run_id: str | None
    seeds: list[str]  # the run's seed objectives, from its archive: DPO alone
    gain: float | None  # the best confirmed proposal's mean paired gain over DPO (0: none confirmed)
    gap_closed: float | None  # gain / known gain, at least 0
    confirmed: int | None  # proposals confirmed
    trainings_to_first: int | None  # trainings up to the first confirmed proposal's (None: none confirmed)
    trainings: int | None  # every training the run's candidates hold (the search's)
    held_out_trainings: int | None  # the confirmation's, on the meta-test variants
    wall_s: float | None  # remeasured: from the run's start to its end as archived
    cells: int | None = None  # distinct behaviour cells its proposals reached
    stopped_reason: str | None = None
    error: str | None = None  # the run gave no result: why


def best_confirmed_gain(confirmations: dict[str, Confirmation]) -> float:
    """The largest mean paired difference with the baseline among the confirmed proposals; 0 when
    none is confirmed (the run's answer is then "keep DPO", which gains nothing)."""
    return max(
        (c.difference for c in confirmations.values() if c.confirmed and c.difference is not None),
        default=0.0,
    )


def gap_closed(gain: float, known_gain: float) -> float:
    """The share of the known objectives' gain over DPO that the run's gain reaches: 0 for none (or a
    loss), 1 for as much, above 1 for more."""
    return max(gain, 0.0) / known_gain


def trainings(candidate: CandidateRecord) -> int:
    """The trainings a candidate holds (every seed at every beta); none when it has no figures."""
    return len(candidate.figures.seeds) if candidate.figures else 0


def trainings_to_first(candidates: list[CandidateRecord], confirmed: set[str]) -> int | None:
    """Trainings of `candidates` (in creation order) up to and including the first confirmed one's,
    or None when none of them is confirmed."""
    spent = 0
    for candidate in candidates:
        spent += trainings(candidate)
        if candidate.id in confirmed:
            return spent
    return None


def placed(candidates: list[CandidateRecord]) -> list[CandidateRecord]:
    """The candidates with their behaviour cells: as archived, or for a run archived before the map,
    measured now by validating each placed proposal's code in the sandbox."""
    if any(candidate.cell is not None for candidate in candidates):
        return candidates
    with Validator() as validator:
        return [
            candidate.model_copy(update={"cell": cell_of(validator.validate(candidate.code).descriptors)})
            if candidate.status in PLACED and not candidate.is_seed
            else candidate
            for candidate in candidates
        ]


def measure(archive: Archive, known_gain: float) -> dict:
    """A finished run's figures (the `RunFigures` fields an archive decides), from its archive alone:
    its held-out confirmation judged as every view of the run judges it (`confirmation_of`)."""
    candidates = archive.candidates()
    confirmation = confirmation_of(candidates, archive.transfers())
    verdicts = confirmation.confirmations() if confirmation else {}
    confirmed = {id for id, verdict in verdicts.items() if verdict.confirmed}
    gain = best_confirmed_gain(verdicts)
    return {
        "seeds": [c.name for c in candidates if c.is_seed],
        "gain": gain,
        "gap_closed": gap_closed(gain, known_gain),
        "confirmed": len(confirmed),
        "trainings_to_first": trainings_to_first(candidates, confirmed),
        "trainings": sum(trainings(c) for c in candidates),
        "held_out_trainings": sum(len(r.result.seeds) for r in archive.transfers() if r.result),
        "cells": cells_reached(placed(candidates)),
    }


def separation_gain(separation: dict, known: list[str]) -> tuple[str, float]:
    """The best known objective and its mean paired gain over DPO on the meta-test variants, from the
    document `discover separation --json` printed; ValueError when it cannot say."""
    variants = [variant for variant in separation.get("variants", []) if variant.get("role") == "meta-test"]
    if not variants:
        raise ValueError("the separation has no meta-test variant: run it on the benchmark's suite")
    if any(variant.get("baseline") != BASELINE for variant in variants):
        raise ValueError(f"the separation's baseline is not {BASELINE}")
    gains = {}
    for name in known:
        differences = [
            figures.get("difference")
            for variant in variants
            for figures in variant.get("objectives", [])
            if figures.get("objective") == name
        ]
        if len(differences) != len(variants) or None in differences:
            raise ValueError(f"the separation did not pair {name} with {BASELINE} on every meta-test variant")
        gains[name] = statistics.fmean(differences)
    best = max(gains, key=lambda name: gains[name])
    return best, gains[best]


def median_gap_closed(runs: list[RunFigures]) -> float | None:
    """The headline: the median share of the known gap closed, over the runs that gave a result."""
    closed = [run.gap_closed for run in runs if run.gap_closed is not None]
    return statistics.median(closed) if closed else None


def knowledge(proposer: str, known: list[str]) -> str:
    """What the proposer may know of the known winners despite the benchmark, in a line."""
    removed = f"{', '.join(known)}: not seeded, never in the proposer's context (it knows DPO alone)"
    if proposer == "builtin":
        return (
            f"{removed}; the built-in proposer's operators (program mutations over the allowed names and "
            "per-answer signals; the classic blends, margins, tails, temperatures, retuned constants) are "
            "hand-written priors, not removed"
        )
    return (
        f"{removed}; an LLM proposer's pretrained knowledge of published losses cannot be removed: "
        "its gap closed is rediscovery with that prior"
    )


def run_once(
    random_seed: int, folder: Path, budget: list[str], proposer: str, extra: list[str], known_gain: float
) -> RunFigures:
    """One `discover run` seeded with DPO alone, in `folder`, and its figures from its archive."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        *(sys.executable, "-m", "discovery.cli", "run", "--json", "--runs-dir", str(folder)),
        *("--seed-objectives", BASELINE, "--random-seed", str(random_seed), "--proposer", proposer),
        *("--generations", str(GENERATIONS), *budget, *extra),
    ]
    log = folder / LOG_FILE
    print(f"run {random_seed}: {' '.join(command[2:])} (progress: {log})", file=sys.stderr, flush=True)
    started = time.monotonic()
    with log.open("w") as stderr:
        finished = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True, check=False)
    wall_s = time.monotonic() - started
    try:
        result = json.loads(finished.stdout)
    except json.JSONDecodeError:
        lines = log.read_text().strip().splitlines()
        reason = lines[-1] if lines else f"discover run exited with {finished.returncode}"
        return RunFigures(random_seed, None, [], None, None, None, None, None, None, wall_s, error=reason)
    with Archive.open(folder, result["run_id"]) as archive:
        figures = measure(archive, known_gain)
    return RunFigures(
        random_seed, result["run_id"], wall_s=wall_s, stopped_reason=result["stopped_reason"], **figures
    )


def remeasure(random_seed: int, folder: Path, known_gain: float) -> RunFigures:
    """The figures of a run the benchmark made before, read from its archive again."""
    try:
        with Archive.open(folder, None) as archive:
            run = archive.run()
            figures = measure(archive, known_gain)
    except (UserError, OSError, ValueError) as error:  # no run there, or an unreadable archive
        return RunFigures(random_seed, None, [], None, None, None, None, None, None, None, error=str(error))
    wall_s = (run.ended - run.started).total_seconds() if run.ended else None
    return RunFigures(random_seed, run.id, wall_s=wall_s, **figures)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def _optional(value: float | int | None, form: str) -> str:
    return "-" if value is None else format(value, form)


def print_table(runs: list[RunFigures], known: list[str], known_gain: float, note: str, output: Path) -> None:
    """The runs one line each, then the median of the gap closed."""
    print(f"known winners: {', '.join(known)}; their gain over DPO on the meta-test: {known_gain:+.4f}")
    print(f"proposer knowledge: {note}")
    print(f"runs under {output}; trainings: the search's (DPO's included), held out: the confirmation's")
    header = (
        "seed",
        "run",
        "confirmed",
        "gain",
        "gap closed",
        "to first",
        "trainings",
        "held out",
        "cells",
        "wall",
    )
    rows = [header]
    for run in runs:
        rows.append(
            (
                str(run.random_seed),
                run.run_id or "failed",
                _optional(run.confirmed, "d"),
                _optional(run.gain, "+.4f"),
                _optional(run.gap_closed, ".0%"),
                _optional(run.trainings_to_first, "d"),
                _optional(run.trainings, "d"),
                _optional(run.held_out_trainings, "d"),
                _optional(run.cells, "d"),
                _clock(run.wall_s),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for run in runs:
        if run.error:
            print(f"run {run.random_seed} failed: {run.error}")
    median = median_gap_closed(runs)
    done = sum(run.gap_closed is not None for run in runs)
    print(f"median gap closed over {done} run(s): {_optional(median, '.0%')}")


def _known_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    canonical = [canonical_name(name) for name in names]
    unknown = [name for name, found in zip(names, canonical, strict=True) if found is None]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or 'nothing'}: name shipped objectives ({', '.join(shipped_names())})"
        )
    if BASELINE in canonical:
        raise argparse.ArgumentTypeError(f"{BASELINE} is the baseline, not a known winner over it")
    return list(dict.fromkeys(name for name in canonical if name is not None))


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("the known objectives must beat DPO: a gain above 0")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other options are passed to discover run (--suite, --set, --config, --workers, ...).",
    )
    parser.add_argument("--known", type=_known_names, required=True, help="objectives known to beat DPO")
    gap = parser.add_mutually_exclusive_group(required=True)
    gap.add_argument(
        "--known-gain",
        type=_positive,
        help="the best known objective's mean paired gain over DPO on the meta-test variants",
    )
    gap.add_argument(
        "--separation", type=Path, help="the JSON of discover separation on the suite, to read it from"
    )
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-trainings", type=int, help="trainings per run (--max-trainings)")
    budget.add_argument("--time-limit", help="time per run (90m, 1h; --time-limit)")
    parser.add_argument("--runs", type=int, default=3, help="runs, with --random-seed 0..N-1")
    parser.add_argument("--proposer", default="builtin", choices=("builtin", "openai"))
    parser.add_argument("--output", type=Path, help="the runs' folders (default: runs/rediscovery/<time>)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument(
        "--remeasure", action="store_true", help="read the runs under --output again; run nothing"
    )
    args, extra = parser.parse_known_args()
    owned = [option for option in extra if option.split("=")[0] in OWN_OPTIONS]
    if owned:
        parser.error(f"{', '.join(owned)}: the benchmark sets these itself")
    if args.remeasure and args.output is None:
        parser.error("--remeasure reads the runs under --output: name it")
    if args.runs < 1 or (args.budget_trainings is not None and args.budget_trainings < 1):
        parser.error("--runs and --budget-trainings are at least 1")
    if args.time_limit is not None:
        try:
            duration(args.time_limit)
        except ValueError as error:
            parser.error(str(error))
    gain = args.known_gain
    if args.separation is not None:
        try:
            best, gain = separation_gain(json.loads(args.separation.read_text()), args.known)
        except (OSError, ValueError) as error:
            parser.error(f"--separation {args.separation}: {error}")
        if gain <= 0:
            parser.error(f"--separation {args.separation}: {best} does not beat DPO on the meta-test")
    limit = (
        ["--max-trainings", str(args.budget_trainings)]
        if args.budget_trainings is not None
        else ["--time-limit", args.time_limit]
    )
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    output = args.output or default_runs_dir() / "rediscovery" / stamp
    os.environ.setdefault(CACHE_ENV, str(cache_root(default_runs_dir()).resolve()))  # shared by the runs

    if args.remeasure:
        runs = [remeasure(seed, output / f"run{seed}", gain) for seed in range(args.runs)]
    else:
        runs = [
            run_once(seed, output / f"run{seed}", limit, args.proposer, extra, gain)
            for seed in range(args.runs)
        ]
    note = knowledge(args.proposer, args.known)
    if args.json:
        document = {
            "known": args.known,
            "known_gain": gain,
            "proposer": args.proposer,
            "budget": {"trainings": args.budget_trainings, "time_limit": args.time_limit},
            "run_options": extra,
            "output": str(output),
            "knowledge": note,
            "runs": [asdict(run) for run in runs],
            "median_gap_closed": median_gap_closed(runs),
        }
        print(json.dumps(document, indent=2))
    else:
        print_table(runs, args.known, gain, note, output)


if __name__ == "__main__":
    main()
