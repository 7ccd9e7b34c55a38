"""`discover retrain`: retrain a real model with any objective on a full recipe.

recipe.py (YAML in TRL's field names) -> plan.py (the resolved plan: batch, steps, launch files)
-> launch.py (accelerate + DeepSpeed, or one CPU process) -> job.py (TRL training in each process)
-> card.py (model card). data.py holds the data loading and the prompt truncation rule.
"""
