"""Beta profiles: how an objective's gradients turn as beta changes, and "is this an archived
objective with beta rescaled?".

Multiplying beta by a constant inside a loss (`-logsigmoid(1.83 * beta * rho)`) changes no idea, only
the beta at which the same objective is used; scoring over a beta grid already gives every objective
its best beta, so such a proposal can only waste a training. It is recognised before any training:
the profile holds, at each beta of a fine geometric grid, the direction of the policy gradients on
a probe batch of the run's training size (`probes.probe_batches`). A rescaled copy's profile is the
original's shifted along log beta, so the comparison slides one over the other and asks whether the
directions agree everywhere on the central decades. Between grid points the original is
interpolated linearly, or else taken at either neighbour: hinge-like objectives turn their gradients
in steps, which no interpolation follows. Directions, not magnitudes: a loss multiplied by a
constant (at each beta) changes the learning rate, not the objective, and Adam undoes it.

The profile is computed in the confined child like the fingerprint, so a hostile candidate could
forge its own; that only lets it past the duplicate check, which protects the budget, not figures.
"""

import math

import numpy as np

# 20 betas a decade over 1e-3 .. 1e2; candidates are compared on 1e-2 .. 1e1, so a rescaling by up to
# ten either way stays on the grid.
STEPS_PER_DECADE = 20
LOWEST, HIGHEST = -3, 2
PROFILE_BETAS = tuple(
    10 ** (LOWEST + k / STEPS_PER_DECADE) for k in range((HIGHEST - LOWEST) * STEPS_PER_DECADE + 1)
)
_CORE = (STEPS_PER_DECADE * 1, STEPS_PER_DECADE * 4)  # indices of 1e-2 and 1e1
_MAX_SHIFT = STEPS_PER_DECADE  # one decade
_FRACTIONS = np.linspace(0.0, 1.0, 11)
# Directions must agree to this cosine at every compared beta. Measured on the shipped objectives
# rescaled by factors from 0.13 to 7: their worst agreement is 1 - 1.3e-3 (interpolation), while two
# different shipped objectives disagree by at least 1.5e-2 somewhere, and DPO plus a hundredth of
# IPO's penalty by 0.17.
_MIN_COSINE = 1 - 4e-3
_MIN_COMPARED = 0.8  # share of the core betas where both directions are defined


def unit_rows(gradients: list[list[float]]) -> list[float]:
    """The profile as stored: each beta's gradient vector scaled to unit length, flattened (a row
    of zeros where the gradient vanished or was not finite)."""
    rows = np.asarray(gradients, dtype=np.float64)
    rows[~np.isfinite(rows).all(axis=1)] = 0.0
    with np.errstate(over="ignore"):  # a huge gradient's norm overflows: the row counts as undefined
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
    defined = np.isfinite(norms) & (norms > 1e-30)
    units = np.divide(rows, norms, out=np.zeros_like(rows), where=defined)
    return np.round(units, 6).ravel().tolist()  # six decimals: a compact archive, ample for 4e-3


def rescale_factor(candidate: list[float], original: list[float]) -> float | None:
    """The c for which `candidate` at beta behaves as `original` at c * beta (every compared gradient
    direction agrees), or None. c close to 1 means the two behave the same at every beta."""
    rows = len(PROFILE_BETAS)
    if len(candidate) != len(original) or not candidate or len(candidate) % rows:
        return None
    g = np.asarray(candidate).reshape(rows, -1)
    f = np.asarray(original).reshape(rows, -1)
    core = np.arange(*_CORE)
    defined_g = np.linalg.norm(g[core], axis=1) > 0.5
    if defined_g.mean() < _MIN_COMPARED:
        return None
    similarity = g[core] @ f.T  # cosine of candidate row k with original row j
    neighbours = np.einsum("ij,ij->i", f[:-1], f[1:])  # f_j . f_j+1
    defined_f = np.linalg.norm(f, axis=1) > 0.5
    best = {"interpolated": (-math.inf, 0.0), "either": (-math.inf, 0.0)}  # (worst cosine, shift)
    for shift in range(-_MAX_SHIFT, _MAX_SHIFT):
        columns = core + shift
        both = defined_g & defined_f[columns] & defined_f[columns + 1]
        if both.mean() < _MIN_COMPARED:
            continue
        left = similarity[np.arange(len(core)), columns][both]
        right = similarity[np.arange(len(core)), columns + 1][both]
        link = neighbours[columns][both]
        either = np.maximum(left, right)
        for fraction in _FRACTIONS:
            norm = np.sqrt((1 - fraction) ** 2 + fraction**2 + 2 * fraction * (1 - fraction) * link)
            interpolated = ((1 - fraction) * left + fraction * right) / norm
            for way, cosines in (
                ("interpolated", interpolated),
                ("either", np.maximum(interpolated, either)),
            ):
                best[way] = max(best[way], (float(np.min(cosines)), shift + fraction))
    # The smooth match names the factor when there is one; the stepwise one only decides.
    for way in ("interpolated", "either"):
        worst, shift = best[way]
        if worst >= _MIN_COSINE:
            return 10 ** (shift / STEPS_PER_DECADE)
    return None
