"""The sentiment task's shipped suites: variants where the choice of loss is measured to matter.

A variant earns its place only when it separates known objectives: at their own best beta, some
objective beats DPO on it with a paired p < 0.05 over six seeds (`discover separation`; the README
has the tables and the commands). Of the stresses measured, scarce data trained for many epochs (250
pairs seen 12 times) separates: losses that anchor each answer to the reference on its own (SPPO,
APO-zero, NCA) beat DPO at its best beta by 0.03 to 0.06, on every seed, in two synthetic worlds
(corpus, reference model and pairs from data seeds 3 and 4). The same stress in two other worlds
(data seeds 1234 and 2) points the same way but within seed noise, and noisy labels (30 % swapped, or
a warm Bradley-Terry draw) did not separate at all: there DPO at its best beta equals or beats every
known objective measured. Only the separating variants are in the suite: the search trains on one
world, the confirmation on the other.

The grid reaches beta 3: on scarce data DPO's best beta lies above the default grid's top (1), where
it would be judged below its best (0.592 at beta 1 against 0.622 at beta 3 over six seeds in the
world of data seed 1234). Scoring uses 1,000 held-out prompts, half the default preset's.
"""

from typing import Any

from discovery.suite import Suite

SCARCE: dict[str, Any] = {
    "train_pairs": 250,
    "epochs": 12,
    "heldout_prompts": 1000,
    "betas": [0.1, 0.3, 1.0, 3.0],
}

HEADROOM = Suite(
    description="scarce preference data trained for many epochs (250 pairs, 12 epochs): the search "
    "in one synthetic world, the confirmation in another (corpus, reference and pairs of another "
    "data seed)",
    meta_train={"scarce_world3": {**SCARCE, "data_seed": 3}},
    meta_test={"scarce_world4": {**SCARCE, "data_seed": 4}},
)

SUITES: dict[str, Suite] = {"headroom": HEADROOM}
DEFAULT_SUITE = "headroom"
