"""The TRL training layer every inner task and every retrain sits on: a `DPOTrainer` for any
objective, the machine's defaults, and the prompt truncation of older TRL."""

from discovery.training.trainer import ObjectiveDPOTrainer, ObjectiveFailure, dpo_config, hardware_defaults

__all__ = ["ObjectiveDPOTrainer", "ObjectiveFailure", "dpo_config", "hardware_defaults"]
