"""The length-controlled win rate of `alpaca`, in the spirit of AlpacaEval 2.0's (Dubois et al. 2024).

LLM judges prefer longer answers, so a model can raise its raw win rate by writing more. The
length-controlled win rate asks what the win rate would be if the two answers had the same length.
For prompt i let y_i in [0, 1] be the judged preference for the model over the baseline (1 win,
1/2 tie, 0 loss; the mean over both presentation orders) and d_i = len(model answer) - len(baseline
answer) in characters. With s the standard deviation of the d_i, x_i = tanh(d_i / s) bounds the
influence of any one very long answer. We fit

    P(model preferred | x) = sigmoid(a + b x)

by maximising the ridge-penalised log-likelihood (y_i are soft labels)

    L(a, b) = sum_i [ y_i log p_i + (1 - y_i) log(1 - p_i) ] - (lambda / 2) (a^2 + b^2)
    p_i = sigmoid(a + b x_i)

with Newton's method (L is strictly concave), and report 100 * sigmoid(a): the predicted win rate
at zero length difference. The small ridge keeps a and b finite when every prompt is won (or lost).
AlpacaEval 2.0 also models each instruction's difficulty, which needs many models judged on the same
prompts; with one model against one baseline that term is not identifiable, so it is left out.
"""

import math
import statistics
from dataclasses import dataclass

RIDGE = 1e-3
MAX_ITERATIONS = 100
TOLERANCE = 1e-10


@dataclass(frozen=True)
class LengthControlled:
    """Raw and length-controlled win rates (percent) and the fitted model."""

    win_rate: float
    lc_win_rate: float
    intercept: float
    length_slope: float
    length_scale: float


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1 / (1 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1 + exp)


def length_controlled(preferences: list[float], length_differences: list[float]) -> LengthControlled:
    """Fit the model above to (y_i, d_i) and return both win rates."""
    if not preferences or len(preferences) != len(length_differences):
        raise ValueError("need one length difference per preference, and at least one of each")
    scale = statistics.pstdev(length_differences)
    xs = [math.tanh(d / scale) if scale > 0 else 0.0 for d in length_differences]
    a = b = 0.0
    for _ in range(MAX_ITERATIONS):
        ps = [_sigmoid(a + b * x) for x in xs]
        grad_a = sum(y - p for y, p in zip(preferences, ps, strict=True)) - RIDGE * a
        grad_b = sum((y - p) * x for y, p, x in zip(preferences, ps, xs, strict=True)) - RIDGE * b
        weights = [p * (1 - p) for p in ps]
        h_aa = sum(weights) + RIDGE  # the negated Hessian, positive definite
        h_ab = sum(w * x for w, x in zip(weights, xs, strict=True))
        h_bb = sum(w * x * x for w, x in zip(weights, xs, strict=True)) + RIDGE
        det = h_aa * h_bb - h_ab * h_ab
        step_a = (h_bb * grad_a - h_ab * grad_b) / det
        step_b = (h_aa * grad_b - h_ab * grad_a) / det
        a, b = a + step_a, b + step_b
        if abs(step_a) + abs(step_b) < TOLERANCE:
            break
    return LengthControlled(
        win_rate=100 * statistics.fmean(preferences),
        lc_win_rate=100 * _sigmoid(a),
        intercept=a,
        length_slope=b,
        length_scale=scale,
    )
