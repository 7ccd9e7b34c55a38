"""The behaviour map (MAP-Elites): a grid of cells over three descriptors of how an objective's
gradient behaves, measured in the sandbox (`discovery.sandbox.checks.descriptors`).

A search whose parents all come from the top of one leaderboard collapses onto blends of whatever
led early; keeping the best candidate of every cell reached (its elite) and showing those elites to
the proposer keeps objectives that train differently in play. The axes are chosen to be read by a
person, so each cell has a name such as `falls·bounded·margin`:

- ahead: does the gradient weight fall once a pair is ranked right by a large margin? `stops`
  (hinge, SLiC), `falls` (DPO), `eases` (KTO, NCA), `grows` (IPO, SPPO: a target margin pulls back);
- behind: what it does on badly ranked pairs: `fades` (gives up on them: EXO, APO-zero),
  `bounded` (DPO), `unbounded` (IPO, exponential and focal-like losses);
- sides: whether it acts on the margin alone (`margin`), partly on each answer's own log-ratio
  (`mixed`: KTO, BCO, APO-zero) or mostly so (`sided`: SPPO, NCA).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from discovery.archive.ranking import RANKED
from discovery.records import CandidateRecord, CandidateStatus

SEPARATOR = "·"


@dataclass(frozen=True)
class Axis:
    """One descriptor: its name, what it measures, and its bins (a value below `bounds[k]` is in
    bin k, one at or above the last bound in the last bin)."""

    name: str
    meaning: str
    bounds: tuple[float, ...]
    bins: tuple[str, ...]

    def bin(self, value: float) -> str:
        return next(
            (name for bound, name in zip(self.bounds, self.bins, strict=False) if value < bound),
            self.bins[-1],
        )


AXES = (
    Axis(
        "ahead",
        "gradient weight at a large positive margin, relative to that at zero",
        (0.01, 0.25, 0.6),
        ("stops", "falls", "eases", "grows"),
    ),
    Axis(
        "behind",
        "gradient weight at a large negative margin, relative to that at zero",
        (0.4, 0.8),
        ("fades", "bounded", "unbounded"),
    ),
    Axis(
        "sides",
        "share of the gradient acting on each answer apart from the margin",
        (0.05, 0.5),
        ("margin", "mixed", "sided"),
    ),
)
# Statuses whose candidates reached the map: they passed the sandbox and are no duplicate.
PLACED = (CandidateStatus.VALIDATED, CandidateStatus.RUNNING, CandidateStatus.SCORED, CandidateStatus.FAILED)


def cell_of(descriptors: list[float] | None) -> str | None:
    """The name of the cell `descriptors` fall in; None for a candidate the sandbox did not place."""
    if descriptors is None or len(descriptors) != len(AXES):
        return None
    return SEPARATOR.join(axis.bin(value) for axis, value in zip(AXES, descriptors, strict=True))


def all_cells() -> list[str]:
    """Every cell of the grid, in the axes' order (the first axis varies slowest)."""
    cells = [""]
    for axis in AXES:
        cells = [f"{cell}{SEPARATOR if cell else ''}{name}" for cell in cells for name in axis.bins]
    return cells


def elites(candidates: Iterable[CandidateRecord]) -> dict[str, CandidateRecord]:
    """The best candidate with figures of each occupied cell (by the leaderboard's ranking, the
    earlier of a tie), best cell first."""
    best: dict[str, CandidateRecord] = {}
    for candidate in candidates:
        if candidate.cell is None or candidate.figures is None or candidate.status not in RANKED:
            continue
        held = best.get(candidate.cell)
        if held is None or candidate.figures.ranking > held.figures.ranking:  # type: ignore[union-attr]
            best[candidate.cell] = candidate
    return dict(sorted(best.items(), key=lambda item: -item[1].figures.ranking))  # type: ignore[union-attr]


def cells_reached(candidates: Iterable[CandidateRecord]) -> int:
    """How many distinct cells a run's proposals reached (validated and not duplicates, scored or
    not): the benchmark's measure of how widely a search explored. Seeds do not count."""
    return len({c.cell for c in candidates if not c.is_seed and c.cell is not None and c.status in PLACED})
