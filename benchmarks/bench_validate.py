"""Validation speed: median wall-clock time per candidate through a warm `Validator`.

Target (issue 3): median at most 300 ms per candidate. Candidates are the eleven shipped objectives
(valid: the full static + confined run + functional checks + fingerprint path) and the broken ones from
the hostile corpus that fail in the functional stage (they too pay for a fork and the checks). Runtime
failures that wait for the wall-clock limit are left out: their time is the limit by design.

    python benchmarks/bench_validate.py [--rounds 5]
"""

import argparse
import re
import statistics
import time
from pathlib import Path

from discovery.objectives import load_objective, shipped_names
from discovery.sandbox import Validator

TARGET_MS = 300.0
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "hostile"


def candidates() -> dict[str, str]:
    """Name -> source: every shipped objective and every functional-stage corpus file."""
    sources = {name: load_objective(name).source for name in shipped_names()}
    for path in sorted(CORPUS.glob("*.py")):
        text = path.read_text()
        if re.search(r"^# expect: functional$", text, re.MULTILINE):
            sources[f"hostile/{path.stem}"] = text
    return sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the candidate set")
    rounds = parser.parse_args().rounds
    sources = candidates()
    start = time.perf_counter()
    with Validator() as validator:
        startup = time.perf_counter() - start
        times: dict[str, list[float]] = {name: [] for name in sources}
        isolation: dict[str, bool] = {}
        for _ in range(rounds):
            for name, source in sources.items():
                verdict = validator.validate(source)
                times[name].append(verdict.seconds * 1000)
                isolation = verdict.isolation or isolation
    valid = [t for name, ts in times.items() if not name.startswith("hostile/") for t in ts]
    rejected = [t for name, ts in times.items() if name.startswith("hostile/") for t in ts]
    everything = valid + rejected
    print(f"worker start (torch import + warm-up): {startup:.2f} s; confinement layers: {isolation}")
    print(f"{len(sources)} candidates x {rounds} rounds")
    for label, values in (
        ("valid (shipped)", valid),
        ("rejected (functional)", rejected),
        ("all", everything),
    ):
        quantiles = statistics.quantiles(values, n=10)
        print(
            f"  {label:22s} median {statistics.median(values):6.1f} ms   p90 {quantiles[-1]:6.1f} ms   "
            f"max {max(values):6.1f} ms   (n={len(values)})"
        )
    median = statistics.median(everything)
    verdict = "meets" if median <= TARGET_MS else "MISSES"
    print(f"median per candidate {median:.1f} ms {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
