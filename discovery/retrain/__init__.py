"""`discover retrain`: retrain a real model with any objective on a full recipe.

recipe.py (YAML in TRL's field names) -> plan.py (the resolved plan: batch, steps, verdict; shown by
`discovery.ui.plans`) -> distributed.py (accelerate / DeepSpeed configs and command) -> launch.py
(a confined process: accelerate on GPUs, one plain process on CPU; then the archive record) ->
job.py (TRL training in each process) -> card.py (model card). data.py loads the data; result.py is
what a finished job reports.
"""
