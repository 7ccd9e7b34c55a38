"""Prompt sets for judged evaluation: MT-Bench questions and AlpacaEval instructions.

Both load from the hub at run time or from a local JSON / JSONL file the user gives. Rows may use
the field names of `HuggingFaceH4/mt_bench_prompts` (prompt, prompt_id, category, reference), of
FastChat's `question.jsonl` (turns, question_id, category, reference) or of AlpacaEval
(instruction, dataset); every set becomes the same `Question` list.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from discovery.errors import UserError

MT_BENCH = "HuggingFaceH4/mt_bench_prompts"
MT_BENCH_SIZE = 80  # questions of MT-Bench, two turns each (Zheng et al. 2023, arXiv 2306.05685)
ALPACA_EVAL = "hf://datasets/tatsu-lab/alpaca_eval/alpaca_eval.json"
ALPACA_EVAL_SIZE = 805  # instructions of AlpacaEval (the DiscoPOP paper's held-out set)
LOCAL_SUFFIXES = (".json", ".jsonl")


@dataclass(frozen=True)
class Question:
    """One conversation to answer: user turns in order, and the judge's reference answer per turn
    ("" where there is none; MT-Bench gives them for math, reasoning and coding)."""

    id: str
    category: str
    turns: tuple[str, ...]
    references: tuple[str, ...] = ()

    def reference(self, turn: int) -> str:
        """The reference answer of `turn` (0-based), or ""."""
        return self.references[turn] if turn < len(self.references) else ""


def load_questions(spec: str, limit: int | None = None) -> list[Question]:
    """MT-Bench-style multi-turn questions from a hub dataset id or a local JSON / JSONL file."""
    rows = _load_rows(spec, option="questions")
    questions = [_question(row, index, spec) for index, row in enumerate(rows)]
    return _checked(questions[:limit] if limit else questions, spec)


def load_instructions(spec: str, limit: int | None = None) -> list[Question]:
    """AlpacaEval-style single-turn instructions (field `instruction`, or `prompt`) as questions."""
    rows = _load_rows(spec, option="prompts")
    questions = []
    for index, row in enumerate(rows):
        text = row.get("instruction", row.get("prompt"))
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"{spec}: row {index + 1} has no 'instruction' (or 'prompt') text")
        category = str(row.get("dataset", row.get("category", "general")))
        questions.append(Question(id=_stable_id(text), category=category, turns=(text,)))
    return _checked(questions[:limit] if limit else questions, spec)


def questions_digest(questions: list[Question]) -> str:
    """Hash of a question set's content: the same spec with edited questions is a different set."""
    content = [[q.id, q.category, q.turns, q.references] for q in questions]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:12]


def _question(row: dict[str, Any], index: int, spec: str) -> Question:
    turns = row.get("prompt", row.get("turns"))
    if isinstance(turns, str):
        turns = [turns]
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise UserError(f"{spec}: row {index + 1} needs 'prompt' (or 'turns'): a list of user messages")
    references = row.get("reference") or []
    if isinstance(references, str):
        references = [references]
    raw_id = row.get("prompt_id", row.get("question_id"))
    return Question(
        id=str(raw_id) if raw_id is not None else _stable_id("".join(turns)),
        category=str(row.get("category") or "general"),
        turns=tuple(turns),
        references=tuple(str(r or "") for r in references),
    )


def _checked(questions: list[Question], spec: str) -> list[Question]:
    if not questions:
        raise UserError(f"{spec} holds no questions")
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise UserError(f"{spec}: question id {question.id} appears twice; ids name cached judgments")
        seen.add(question.id)
    return questions


def _stable_id(text: str) -> str:
    """An id from the text itself, so the same prompt keeps its cached judgments across files."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _load_rows(spec: str, option: str) -> list[dict[str, Any]]:
    """Rows of a local .json / .jsonl file, a remote JSON file (hf:// or https://), or a hub dataset
    (by id, or a local folder holding a download of one)."""
    path = Path(spec).expanduser()
    if path.suffix in LOCAL_SUFFIXES and "://" not in spec:
        if not path.is_file():
            raise UserError(f"question file {spec} does not exist")
        return _read_local(path)
    import datasets

    try:
        if spec.endswith(LOCAL_SUFFIXES):
            return list(datasets.load_dataset("json", data_files=spec, split="train"))
        return list(datasets.load_dataset(spec, split="train"))
    except (OSError, ConnectionError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        hint = _download_hint(spec, option)
        raise UserError(
            f"cannot load the prompt set '{spec}' (no network, or not in the local cache): {hint}"
        ) from error


def _download_hint(spec: str, option: str) -> str:
    """What to download on a machine with internet, and the option that points at the copy."""
    if spec.startswith("hf://datasets/"):
        parts = spec.removeprefix("hf://datasets/").split("/")
        repo, file = "/".join(parts[:2]), "/".join(parts[2:])
        local = f"./{parts[1]}"
        return (
            f"run `hf download {repo} {file} --repo-type dataset --local-dir {local}` where there is "
            f"internet, copy the folder here and pass --set {option}={local}/{file}"
        )
    local = f"./{spec.rsplit('/', 1)[-1]}"
    return (
        f"run `hf download {spec} --repo-type dataset --local-dir {local}` where there is internet, copy the "
        f"folder here and pass --set {option}={local} (a local .json / .jsonl file works too)"
    )


def _read_local(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    try:
        if path.suffix == ".jsonl":
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            rows = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON: line {error.lineno}: {error.msg}") from error
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise UserError(f"{path} must hold a list of objects (JSON) or one object per line (JSONL)")
    return rows
