"""The newest complete checkpoint in a retrain's output folder, the one a resumed retrain continues from.

transformers writes a checkpoint as `checkpoint-<step>/` and its `trainer_state.json` last, after
the weights, optimizer, scheduler and random states (and, under DeepSpeed, after every rank's
shards): a folder without it was cut off while being written, so it is never resumed from. Whether
the plan may resume from it is the plan's rule (`discovery.retrain.plan`).
"""

from pathlib import Path


def newest_checkpoint(output_dir: Path) -> Path | None:
    """The complete checkpoint with the highest step in `output_dir`, if any."""
    try:
        entries = list(output_dir.iterdir())
    except OSError:  # no folder yet: nothing to resume
        return None
    if not entries:
        return None
    from transformers.trainer import TRAINER_STATE_NAME  # seconds to import: only for a folder with files
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    prefix = f"{PREFIX_CHECKPOINT_DIR}-"
    folders = [path for path in entries if path.name.startswith(prefix)]
    steps = {
        int(path.name.removeprefix(prefix)): path
        for path in folders
        if path.name.removeprefix(prefix).isdigit() and (path / TRAINER_STATE_NAME).is_file()
    }
    return steps[max(steps)] if steps else None
