"""docs/archive-schema.md describes the archive the code writes, and its pandas example reads a real
one: the leaderboard in `discover archive`'s order, and every objective's mean fitness per beta."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from discovery.archive import Archive
from discovery.archive.doc import DOC_PATH, render_markdown
from discovery.fitness import summarise
from discovery.objectives import load_objective
from discovery.records import CandidateRecord, CandidateStatus, SeedResult
from tests.support.archive_factory import run_record

ROOT = Path(__file__).resolve().parents[1]
BETAS = (0.05, 0.1)
# objective -> its fitness at (seed, beta); DPO is the baseline the others are paired with
FITNESS = {
    "dpo": {(0, 0.05): 0.5, (1, 0.05): 0.625, (0, 0.1): 0.5, (1, 0.1): 0.5},
    "ipo": {(0, 0.05): 0.25, (1, 0.05): 0.375, (0, 0.1): 0.75, (1, 0.1): 0.875},
    "cell": {(0, 0.05): 0.625, (1, 0.05): 0.75, (0, 0.1): 0.125, (1, 0.1): 0.25},
}


def example() -> str:
    (block,) = re.findall(r"```python\n(.*?)```", DOC_PATH.read_text(), flags=re.DOTALL)
    return block


def test_the_document_is_generated_from_the_current_code():
    assert DOC_PATH.is_file() and DOC_PATH.read_text() == render_markdown(), (
        "docs/archive-schema.md is stale: run `python -m discovery.archive.doc`"
    )


def test_every_column_and_every_key_is_explained():
    rows = [line for line in DOC_PATH.read_text().splitlines() if line.startswith("| `")]
    unexplained = [row.split("|")[1].strip() for row in rows if not row.split("|")[-2].strip()]
    assert len(rows) > 80 and unexplained == []


def candidate(run_id: str, name: str, baseline=None, status=CandidateStatus.SCORED) -> CandidateRecord:
    objective = load_objective(name)
    trainings = [
        SeedResult(seed=seed, beta=beta, fitness=fitness, kl=0.5 + beta, seconds=2.0)
        for (seed, beta), fitness in FITNESS.get(name, {}).items()
    ]
    return CandidateRecord.of(
        objective,
        id=f"seed-{name}",
        run_id=run_id,
        generation=0,
        is_seed=True,
        status=status,
        figures=summarise(name, trainings, baseline=baseline) if trainings else None,
    )


@pytest.fixture
def archive_dir(tmp_path) -> Path:
    """The example's run, in the runs folder of `tmp_path`: three objectives scored at two betas, one
    rejected by the sandbox."""
    run_id = re.search(r"runs/([^/]+)/archive\.sqlite", example()).group(1)
    with Archive.create(tmp_path / "runs", run_record(run_id)) as archive:
        dpo = candidate(run_id, "dpo")
        archive.add_candidates(
            [
                dpo,
                candidate(run_id, "ipo", dpo.figures),
                candidate(run_id, "cell", dpo.figures),
                candidate(run_id, "hinge", status=CandidateStatus.INVALID),
            ]
        )
        return archive.run_dir


def test_the_pandas_example_reads_a_real_archive(archive_dir, tmp_path):
    shown = subprocess.run(
        [sys.executable, "-c", example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    lines = shown.stdout.splitlines()
    board_end = next(i for i, line in enumerate(lines) if line.startswith("beta"))
    header, *board = lines[:board_end]
    assert header.split() == ["id", "name", "fitness", "fitness_low", "fitness_high", "best_beta", "n"]

    with Archive(archive_dir / "archive.sqlite") as archive:
        leaderboard = archive.leaderboard()
    assert [row.split()[0] for row in board] == [c.id for c in leaderboard]  # hinge has no figures
    for row, record in zip(board, leaderboard, strict=True):
        m = record.figures
        expected = [m.fitness, m.fitness_low, m.fitness_high, m.best_beta, m.n]
        assert [float(value) for value in row.split()[2:]] == pytest.approx(expected, abs=5e-6)

    betas, _, *per_objective = lines[board_end:]
    assert [float(beta) for beta in betas.split()[1:]] == list(BETAS)
    means = {row.split()[0]: [float(value) for value in row.split()[1:]] for row in per_objective}
    assert means == {
        name: [sum(f for (_, b), f in seeds.items() if b == beta) / 2 for beta in BETAS]
        for name, seeds in FITNESS.items()
    }
