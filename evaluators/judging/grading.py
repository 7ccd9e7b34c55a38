"""Questions and answers -> judge requests -> values, through the cache.

`single_grades` builds the MT-Bench single-answer gradings (one per question and turn; later turns
show the judge the whole conversation), `pairwise_preference` the A-versus-B comparisons of
`alpaca`. `judge_all` answers them from the cache where it can and asks the judge, `concurrency`
requests at a time, for the rest.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from discovery.progress import Progress, no_progress
from evaluators.judging.cache import JudgmentCache, Key, content_hash
from evaluators.judging.client import JudgeClient, JudgeSettings, Reply, Usage
from evaluators.judging.prompts import load_judge_prompt, parse_rating, parse_verdict
from evaluators.judging.questions import Question

Parser = Callable[[str], float | None]


@dataclass(frozen=True)
class Request:
    """One judgment to obtain: its cache key, the judge messages and how to read the reply."""

    key: Key
    messages: list[dict[str, str]]
    parse: Parser


@dataclass
class Judgments:
    """Values aligned with the requests (None: failed judgment) and what obtaining them cost."""

    values: list[float | None]
    usage: Usage = field(default_factory=Usage)
    from_cache: int = 0

    @property
    def failed(self) -> int:
        return sum(value is None for value in self.values)


def single_grades(
    questions: list[Question], answers: dict[str, list[str]], judge_model: str
) -> list[Request]:
    """One 1-10 grading per (question, turn) of the answers in `answers[question.id]`."""
    requests = []
    for question in questions:
        for turn, answer in enumerate(answers[question.id]):
            reference = _reference_block(question.reference(turn))
            if turn == 0:
                messages = load_judge_prompt("judge_single").messages(
                    question=question.turns[0], answer=answer, reference_block=reference
                )
            else:
                conversation = _transcript(question.turns[: turn + 1], answers[question.id][: turn + 1])
                messages = load_judge_prompt("judge_multi").messages(
                    conversation=conversation, reference_block=reference
                )
            key = Key("single", question.id, turn, content_hash(messages), judge_model)
            requests.append(Request(key, messages, parse_rating))
    return requests


def pairwise_preference(question: Question, answer_a: str, answer_b: str, judge_model: str) -> Request:
    """The preference for `answer_a` over `answer_b` (1, 0.5 tie, 0) on a single-turn instruction."""
    messages = load_judge_prompt("judge_pairwise").messages(
        instruction=question.turns[0], answer_a=answer_a, answer_b=answer_b
    )
    key = Key("pairwise", question.id, 0, content_hash(messages), judge_model)
    return Request(key, messages, parse_verdict)


def judge_all(
    requests: list[Request],
    settings: JudgeSettings,
    cache: JudgmentCache,
    progress: Progress = no_progress,
) -> Judgments:
    """Values for every request: cached ones first, then the judge for the rest (stored as they arrive)."""
    values: list[float | None] = [None] * len(requests)
    missing = []
    for index, request in enumerate(requests):
        cached = cache.get(request.key)
        if cached is None:
            missing.append(index)
        else:
            values[index] = cached.value
    judged = Judgments(values=values, from_cache=len(requests) - len(missing))
    if not missing:
        return judged
    client = JudgeClient(settings)
    executor = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="judge")
    try:
        futures: dict[Future[Reply], int] = {
            executor.submit(client.judge, requests[i].messages, requests[i].parse): i for i in missing
        }
        for done, future in enumerate(as_completed(futures), start=1):
            index, reply = futures[future], future.result()
            cache.put(
                requests[index].key,
                reply.value,
                reply.text,
                reply.usage.prompt_tokens,
                reply.usage.completion_tokens,
            )
            values[index] = reply.value
            judged.usage.add(reply.usage)
            progress("judge", done / len(missing))
    finally:  # an unreachable judge stops the batch at once; what was answered stays cached
        executor.shutdown(wait=True, cancel_futures=True)
    return judged


def _reference_block(reference: str) -> str:
    if not reference.strip():
        return ""
    return "\n" + load_judge_prompt("judge_reference").user.substitute(reference=reference) + "\n"


def _transcript(turns: tuple[str, ...] | list[str], answers: list[str]) -> str:
    parts = []
    for user, assistant in zip(turns, answers, strict=True):
        parts.append(f"[User]\n{user}\n\n[Assistant]\n{assistant}")
    return "\n\n".join(parts)
