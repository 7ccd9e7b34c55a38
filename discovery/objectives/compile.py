"""Turn objective source into a callable, after the static gate has passed it.

This is the only place where objective source is executed in a trusted process (the trainer), so
the gate runs here again even if the code was validated before: code that did not pass is never
executed outside the sandbox.
"""

import math

from discovery.objectives.contract import FUNCTION_NAME, LossFunction
from discovery.objectives.gate import check_source, safe_builtins


class ObjectiveRejected(ValueError):
    """The source failed the static gate; the message says which line broke which rule."""


def compile_objective(source: str, filename: str = "<objective>") -> LossFunction:
    """Check `source` statically, then execute it with only safe builtins and return its `loss`."""
    import torch  # imported here so that reading archives never loads torch
    import torch.nn.functional as F

    violations = check_source(source)
    if violations:
        raise ObjectiveRejected("; ".join(str(v) for v in violations))
    namespace: dict = {
        "__builtins__": safe_builtins(),
        "__name__": "objective",
        "torch": torch,
        "F": F,
        "math": math,
    }
    exec(compile(source, filename, "exec"), namespace)
    return namespace[FUNCTION_NAME]
