"""The sentiment task's shipped suites: variants where the choice of loss is measured to matter.

A variant earns its place only when it separates known objectives: at their own best beta, some
objective beats DPO on it with a paired p < 0.05 over six seeds (`discover separation`; the README
has the tables and the commands). Every variant is half the default preset's size (1000 training
pairs, 1000 held-out prompts), so that a candidate trains on the whole meta-train set in about the
time the single default task took.
"""

from typing import Any

from discovery.suite import Suite

HALF_SIZE: dict[str, Any] = {"train_pairs": 1000, "heldout_prompts": 1000}

HEADROOM = Suite(
    description="noisy and scarce preference data, where robust and bounded losses are known to differ "
    "from DPO",
    meta_train={
        "flipped": {**HALF_SIZE, "label_noise": 0.3},
        "hot": {**HALF_SIZE, "learning_rate": 5e-3},
    },
    meta_test={
        "flipped_other": {**HALF_SIZE, "label_noise": 0.3, "data_seed": 4321},
        "hot_other": {**HALF_SIZE, "learning_rate": 5e-3, "data_seed": 4321},
    },
)

SUITES: dict[str, Suite] = {"headroom": HEADROOM}
DEFAULT_SUITE = "headroom"
