"""`python -m tests.support.fixed_run_id RUN_ID ARGS...` is `discover ARGS...` with a new run's id
fixed to RUN_ID: two runs in different runs folders then share everything their id decides (the
sandbox's probe batches, drawn from a seed of the id), so a killed-and-resumed run can be compared
with an uninterrupted one candidate by candidate."""

import sys

import discovery.runner
from discovery.cli import main

if __name__ == "__main__":
    run_id = sys.argv.pop(1)
    discovery.runner.new_run_id = lambda prefix="": run_id
    main()
