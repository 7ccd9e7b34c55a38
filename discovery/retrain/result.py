"""What a finished retrain reports, written by the job and read by the launcher, the card and the judges."""

from typing import Any

from pydantic import BaseModel

RESULT_FILE = "retrain_result.json"


class RetrainResult(BaseModel):
    """What a finished retrain reports: where the model is, and the figures of the run."""

    output_dir: str
    train_metrics: dict[str, float]
    eval_metrics: dict[str, float]
    log_history: list[dict[str, Any]]
    seconds: float
    hardware: str  # e.g. "8 x NVIDIA H100 80GB HBM3" or "1 x cpu"
