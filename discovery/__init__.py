"""discover: LLM-driven discovery of preference-optimization objectives.

The public Python API is what a user's own TRL script needs to train with an objective found here:

    from discovery import ObjectiveDPOTrainer, load_objective

    objective = load_objective("my_objective.py")  # a file `discover export` wrote, or a shipped name
    trainer = ObjectiveDPOTrainer(model=..., args=DPOConfig(...), ..., objective=objective)

Both names load on first use: `discover --help` and the archive readers import this package and must
not pay for torch and TRL.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discovery.objectives import load_objective
    from discovery.training import ObjectiveDPOTrainer

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {"load_objective": "discovery.objectives", "ObjectiveDPOTrainer": "discovery.training"}
__all__ = ["ObjectiveDPOTrainer", "__version__", "load_objective"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
