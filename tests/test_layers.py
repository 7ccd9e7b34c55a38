"""The one-way layers of pyproject.toml hold, and they have teeth: an upward import breaks them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("discovery", "evaluators", "prompts")
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """`lint-imports` over the packages found in `tree`, with the contracts in its pyproject.toml."""
    return subprocess.run(
        [sys.executable, "-c", LINT, "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
        timeout=300,
    )


def test_the_layer_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def test_an_upward_import_breaks_the_contracts(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    records = tmp_path / "discovery" / "records.py"
    records.write_text(records.read_text() + "\nfrom discovery.loop import DiscoveryLoop  # upward\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "discovery.records is not allowed to import discovery.loop" in result.stdout
