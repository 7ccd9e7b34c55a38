"""Claims a candidate cannot game: the duplicate check and `show`'s TRL equivalence decide on batches
the candidate cannot tell from training (its training batch size, realistic contents drawn from a
seed of the run), not on small fixed probes it could single out by their size.

The candidates in tests/claims branch on `numel()`: DPO at training sizes and a hinge on 8 pairs,
or the other way round."""

import zlib
from pathlib import Path

import pytest

from discovery.novelty import NoveltyIndex
from discovery.objectives import load_objective
from discovery.records import CandidateRecord, CandidateStatus
from discovery.runner import run_probe
from discovery.sandbox import Probe, Validator, same_objective
from discovery.training.trl_losses import load_table, match
from evaluators import get_evaluator

CLAIMS = Path(__file__).parent / "claims"
DPO = load_objective("dpo").source
SLIC = load_objective("slic").source


@pytest.fixture(scope="module")
def validator():
    with Validator(probe=Probe(batch_pairs=32, seed=12345)) as started:
        yield started


def original(fingerprint: list[float] | None) -> CandidateRecord:
    return CandidateRecord(
        id="seed-dpo", run_id="run", generation=0, name="dpo", thought="", code=DPO, code_hash="dpo",
        status=CandidateStatus.SCORED, fingerprint=fingerprint,
    )  # fmt: skip


@pytest.mark.parametrize("batch_pairs", [16, 32])
def test_a_candidate_that_is_dpo_only_at_training_sizes_is_a_duplicate_of_dpo(batch_pairs):
    cheat = (CLAIMS / "dpo_only_at_training_sizes.py").read_text()
    with Validator(probe=Probe(batch_pairs=batch_pairs, seed=7)) as validator:
        dpo, found = validator.validate(DPO), validator.validate(cheat)
    assert dpo.ok and found.ok, found.reason
    index = NoveltyIndex([original(dpo.fingerprint)])
    assert index.original_of("cheat", found.fingerprint) is not None


def test_objectives_that_differ_where_they_train_are_not_duplicates(validator):
    dpo, slic = validator.validate(DPO), validator.validate(SLIC)
    small = validator.validate((CLAIMS / "dpo_only_on_small_batches.py").read_text())
    assert not same_objective(dpo.fingerprint or [], slic.fingerprint or [])
    # a hinge where it trains is SLiC, whatever it computes on 8 pairs
    assert same_objective(small.fingerprint or [], slic.fingerprint or [])


def test_fingerprints_of_another_size_or_the_former_layout_never_match(validator):
    fingerprint = validator.validate(DPO).fingerprint or []
    with Validator(probe=Probe(batch_pairs=16, seed=12345)) as other:
        assert not same_objective(other.validate(DPO).fingerprint or [], fingerprint)
    # archived before: 8 pairs x 3 figures x 2 betas, an even length; the new layout's is odd
    assert len(fingerprint) % 2 == 1
    assert NoveltyIndex([original(fingerprint[:48])]).original_of("dpo again", fingerprint) is None


def test_a_candidate_that_is_dpo_only_on_small_batches_is_not_called_trls_sigmoid(validator):
    cheat = (CLAIMS / "dpo_only_on_small_batches.py").read_text()
    found = match(validator.comparison(cheat))
    assert found is None or found.loss_type != "sigmoid"
    assert match(validator.comparison(DPO)).loss_type == "sigmoid"  # type: ignore[union-attr]
    assert 8 in load_table().batch_sizes and max(load_table().batch_sizes) >= 32


def test_a_run_probes_at_its_evaluators_batch_size_with_a_seed_of_its_own(tmp_path):
    tiny = get_evaluator("sentiment", {"preset": "tiny"}, tmp_path)
    default = get_evaluator("sentiment", {}, tmp_path)
    assert run_probe(tiny, "run-a") == Probe(batch_pairs=16, seed=zlib.crc32(b"run-a"))
    assert run_probe(default, "run-a").batch_pairs == 32
    assert run_probe(default, "run-a") == run_probe(default, "run-a")  # a resumed run compares
    assert run_probe(default, "run-a").seed != run_probe(default, "run-b").seed
