"""`discover validate` as a user runs it: verdict table or JSON document, and the exit codes."""

import json
from pathlib import Path

from tests.support.commands import discover_subprocess

HOSTILE = Path(__file__).parent / "hostile"


def test_json_document_and_exit_code_1_when_any_is_rejected():
    result = discover_subprocess(
        "validate", "dpo", str(HOSTILE / "anti_aligned.py"), str(HOSTILE / "torch_os_system.py"), "--json"
    )
    assert result.returncode == 1, result.stderr
    results = json.loads(result.stdout)["results"]
    assert [r["file"] for r in results] == [
        "dpo",
        str(HOSTILE / "anti_aligned.py"),
        str(HOSTILE / "torch_os_system.py"),
    ]
    fields = {"file", "ok", "stage", "reason", "fingerprint", "beta_profile", "descriptors", "batch_coupled"}
    fields |= {"isolation", "seconds"}
    assert all(set(r) == fields for r in results)
    assert [(r["ok"], r["stage"]) for r in results] == [
        (True, None),
        (False, "functional"),
        (False, "static"),
    ]
    assert len(results[0]["fingerprint"]) > 0 and results[1]["fingerprint"] is None
    assert "anti-aligned" in results[1]["reason"] and "line 12" in results[2]["reason"]


def test_table_and_exit_code_0_when_all_are_valid():
    result = discover_subprocess(
        "validate", "discopop", "discovery/objectives/library/ipo.py", cwd=Path(__file__).parents[1]
    )
    assert result.returncode == 0, result.stderr
    assert "discopop" in result.stdout and "valid" in result.stdout and "rejected" not in result.stdout


def test_missing_file_is_a_one_line_usage_error():
    result = discover_subprocess("validate", "dpo", "no/such/objective.py")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "cannot read objective file no/such/objective.py: No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
