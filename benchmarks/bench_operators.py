"""How often the built-in proposer's operators write a usable objective: the share of random drafts
from the shipped objectives that pass the static gate (all of them must: the program mutations
build from the allow-list) and the sandbox's numerical checks, per operator.

A draft is one operator applied to parents drawn uniformly from the shipped objectives, the
operator drawn by its weight in the set (`discovery.proposers.program_mutations.OPERATOR_SETS`;
`program` is the program mutations alone). An operator that does not apply to its parents (nothing
for it to change) is drawn again.

    python benchmarks/bench_operators.py [--operators all|classic|program] [--drafts 500] [--seed 0]
"""

import argparse
import collections
import random

from discovery.objectives import load_objective, shipped_names
from discovery.objectives.gate import check_source
from discovery.proposers.mutations import Draft, Move, Parent
from discovery.proposers.program_mutations import OPERATOR_SETS, PROGRAM_MOVES
from discovery.sandbox import Validator

SETS: dict[str, tuple[Move, ...]] = {**OPERATOR_SETS, "program": PROGRAM_MOVES}


def drafts(moves: tuple[Move, ...], count: int, rng: random.Random) -> list[tuple[str, Draft]]:
    """`count` drafts, each with the name of the operator that wrote it."""
    objectives = [load_objective(name) for name in shipped_names()]
    parents = [Parent(f"seed-{o.name}", o.name, o.source, o.thought, None) for o in objectives]
    written: list[tuple[str, Draft]] = []
    while len(written) < count:
        move = rng.choices(moves, weights=[move.weight for move in moves])[0]
        try:
            written.append((move.name, move.apply(rng, *rng.sample(parents, move.arity))))
        except ValueError:  # nothing for this operator to change in these parents
            continue
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operators", choices=sorted(SETS), default="all")
    parser.add_argument("--drafts", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    written = drafts(SETS[args.operators], args.drafts, random.Random(args.seed))
    gate_failures = [name for name, draft in written if check_source(draft.code)]
    tried, passed = collections.Counter(), collections.Counter()
    with Validator() as validator:
        for name, draft in written:
            tried[name] += 1
            passed[name] += validator.validate(draft.code).ok
    print(f"operators {args.operators}, {len(written)} drafts from the shipped objectives (seed {args.seed})")
    print(f"pass the static gate: {1 - len(gate_failures) / len(written):.1%}")
    print(f"pass the sandbox:     {sum(passed.values()) / len(written):.1%}")
    for name in sorted(tried):
        print(f"  {name:<24} {passed[name]:>4} / {tried[name]:<4} pass the sandbox")


if __name__ == "__main__":
    main()
