"""The TRL training layer every inner task and every retrain sits on: a `DPOTrainer` for any
objective, the machine's defaults, the prompt truncation of older TRL, and TRL's built-in losses
an objective can be compared with (`trl_losses`).

Names load on first use: `discover show` reads the table of TRL's losses without importing TRL.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discovery.training.trainer import (
        ObjectiveDPOTrainer,
        ObjectiveFailure,
        dpo_config,
        hardware_defaults,
    )

_EXPORTS = {
    "ObjectiveDPOTrainer": "trainer",
    "ObjectiveFailure": "trainer",
    "dpo_config": "trainer",
    "hardware_defaults": "trainer",
}
__all__ = ["ObjectiveDPOTrainer", "ObjectiveFailure", "dpo_config", "hardware_defaults"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
