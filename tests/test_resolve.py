"""OBJECTIVE means the same on every command: shipped name, file, or archived candidate."""

import pytest

import tests.support.probe_evaluator  # noqa: F401  (registers the "probe" evaluator)
from discovery.config import RunConfig
from discovery.errors import UserError
from discovery.resolve import resolve_objective
from discovery.runner import start_run


def test_archived_candidates_resolve_by_run_and_id_or_by_name_in_the_newest_run(tmp_path) -> None:
    config = RunConfig(evaluator="probe", proposer="builtin", seed_objectives=["dpo"], generations=1)
    run = start_run(tmp_path, config).run
    by_path = resolve_objective(f"{run.id}/g1-c1", tmp_path)
    by_id = resolve_objective("g1-c1", tmp_path)
    assert by_path.source == by_id.source and by_path.origin == f"archive:{run.id}/g1-c1"
    assert resolve_objective(by_id.name, tmp_path).source == by_id.source
    assert resolve_objective("dpo", tmp_path).origin == "shipped"


def test_unknown_objective_explains_every_way_to_name_one(tmp_path) -> None:
    with pytest.raises(UserError, match="RUN/CANDIDATE"):
        resolve_objective("nothing-like-this", tmp_path)
