"""The sentiment task's shipped suites: variants where the choice of loss is measured to matter.

A variant earns its place only when it separates known objectives: at their own best beta, some
objective beats DPO on it with a paired p < 0.05 over the seeds (`discover separation`; the README
has the tables and the commands). Of the stresses measured, scarce data trained for many epochs
separates: DPO's logistic loss keeps growing the margin on 250 pairs seen 12 times, its likelihoods
fall away from the data and the policy degrades below low beta, while losses that anchor each
answer to the reference on its own (NCA, SPPO, APO-zero, BCO) hold up. Noisy labels (30 % swapped,
or a warm Bradley-Terry draw) did not separate: there, DPO at its best beta equals or beats every
known objective measured.

Scoring uses 1,000 held-out prompts, half the default preset's, so that a candidate trains and is
scored on both meta-train variants in about the time one default-size training took.
"""

from typing import Any

from discovery.suite import Suite

# The grid reaches beta 3: on scarce data DPO's best beta lies above the default grid's top (1), where
# it would be judged below its best (0.592 at beta 1 against 0.622 at beta 3 over six seeds).
SCARCE: dict[str, Any] = {
    "train_pairs": 250,
    "epochs": 12,
    "heldout_prompts": 1000,
    "betas": [0.1, 0.3, 1.0, 3.0],
}

HEADROOM = Suite(
    description="scarce preference data trained for many epochs, in four synthetic worlds (corpus, "
    "reference model and pairs from another data seed): the search sees two, the confirmation two others",
    meta_train={
        "scarce": dict(SCARCE),
        "scarce_world2": {**SCARCE, "data_seed": 2},
    },
    meta_test={
        "scarce_world3": {**SCARCE, "data_seed": 3},
        "scarce_world4": {**SCARCE, "data_seed": 4},
    },
)

SUITES: dict[str, Suite] = {"headroom": HEADROOM}
DEFAULT_SUITE = "headroom"
