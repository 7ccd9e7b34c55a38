"""Where candidates are trained and scored: confined training, trusted scoring, and the executors
that run those jobs for the loop and for `discover evaluate`."""
