"""The held-out transfer check on a task whose variant is known to reverse the search's order:
it must say so (no discovery survives, negative rank correlation), keep every result in the
archive, and train only what is missing when asked again."""

import shutil
from pathlib import Path

import pytest

from discovery.archive import ARCHIVE_FILE, Archive, find_run
from discovery.execution.local import LocalExecutor
from discovery.transfer import run_transfer
from evaluators.base import TransferVariant
from evaluators.registry import get_evaluator
from tests.support.noisy_evaluator import NoisyEvaluator
from tests.support.noisy_runs import proposal, run_loop


def transfer(runs: Path, top: int, notices: list[str]):
    """Run the transfer of the newest run under `runs`; its summary (the notices collected)."""
    with Archive(find_run(runs, None) / ARCHIVE_FILE, writable=True) as archive, LocalExecutor() as executor:
        evaluator = get_evaluator("noisy", {}, cache_dir=runs.parent / "cache")
        variants, cache = evaluator.transfer_variants(), evaluator.cache_dir
        return run_transfer(archive, variants, cache, executor, top=top, seeds=2, notice=notices.append)


@pytest.fixture(scope="module")
def finished_search(tmp_path_factory) -> Path:
    """A finished search where three proposals beat DPO (0.6) clearly (searched once per module)."""
    folder = tmp_path_factory.mktemp("search")
    proposals = [proposal("a_q0.8", "ipo"), proposal("b_q0.75", "slic"), proposal("c_q0.7", "kto")]
    run_loop(folder, proposals, seeds=2)
    return folder


@pytest.fixture
def searched(finished_search, tmp_path) -> Path:
    """A copy of the finished search for one test; its runs folder."""
    shutil.copytree(finished_search, tmp_path, dirs_exist_ok=True)
    return tmp_path / "runs"


def test_a_reversed_variant_is_reported_as_lost_ground(searched):
    found = transfer(searched, top=3, notices=[])
    names = [candidate.name for candidate in found.candidates]
    assert names == ["dpo", "a_q0.8", "b_q0.75", "c_q0.7"]  # the baseline, then the best first
    for candidate in found.candidates[1:]:
        record = found.results[("reversed", candidate.id)]
        assert record.result.n == 2 and record.result.paired.baseline == "dpo"
        assert found.survives(candidate.id, "reversed") is False  # 1 - quality: all below DPO's 0.4
    assert found.rank_correlation("reversed") == pytest.approx(-1.0)


def test_transfer_results_are_kept_and_only_what_is_missing_is_trained(searched):
    first: list[str] = []
    transfer(searched, top=2, notices=first)
    assert any("reversed" in line and "3 objective(s)" in line for line in first)  # dpo + top 2
    again: list[str] = []
    found = transfer(searched, top=3, notices=again)
    assert any("reversed" in line and "1 objective(s)" in line for line in again)  # only c_q0.7
    assert len(found.results) == 4
    with Archive(find_run(searched, None) / ARCHIVE_FILE) as archive:
        assert {record.name for record in archive.transfers()} == {"dpo", "a_q0.8", "b_q0.75", "c_q0.7"}
    unchanged: list[str] = []
    transfer(searched, top=3, notices=unchanged)
    assert unchanged == []


class TwoVariants(NoisyEvaluator):
    """The noisy task with a variant whose task is slow to build (until `built_when` appears) and one
    that needs no build (the search's task at twice the beta)."""

    def __init__(self, options, cache_dir: Path, built_when: Path) -> None:
        super().__init__(options, cache_dir)
        self.built_when = built_when

    def transfer_variants(self) -> list[TransferVariant]:
        slow = {"reversed": True, "built_when": str(self.built_when)}
        return [
            TransferVariant(name="reversed", description="1 - quality, slow to build", options=slow),
            TransferVariant(name="beta", description="twice the beta", beta_factor=2.0),
        ]


def test_the_slots_train_a_ready_variant_while_another_variant_is_built(searched, tmp_path):
    """The build ends only once a training of the ready variant is in, so a transfer that built
    before training anything would wait out the build's 60 s and fail the order below."""
    built_when = tmp_path / "built"
    notices: list[str] = []

    def notice(line: str) -> None:
        notices.append(line)
        if line.startswith("transfer beta:") and line.endswith("done"):
            built_when.touch()

    with (
        Archive(find_run(searched, None) / ARCHIVE_FILE, writable=True) as archive,
        LocalExecutor() as executor,
    ):
        evaluator = TwoVariants(NoisyEvaluator.Options(), searched.parent / "cache", built_when)
        variants, cache = evaluator.transfer_variants(), evaluator.cache_dir
        found = run_transfer(archive, variants, cache, executor, top=2, seeds=2, notice=notice)
        committed = archive.transfers()
    first_done = next(i for i, line in enumerate(notices) if line.endswith("done"))
    assert notices[first_done].startswith("transfer beta:")
    assert notices.index("transfer reversed: built") > first_done
    assert len(found.results) == len(committed) == 6  # DPO and the best 2, on both variants
    assert all(record.result.n == 2 for record in committed)
