"""Data for a retrain: the preference splits (hub name or local copy), counted without a download."""

import os
import tempfile
from pathlib import Path

from discovery.errors import UserError

# Rows per split of datasets a shipped recipe names, from their dataset cards, so a dry run can count
# optimizer steps without the network. argilla/dpo-mix-7k: README `dataset_info.splits`
# (train num_examples 6750, test 750) at revision 84adebaeda61308ff57f2a3d14404ee0b5d5bbef.
KNOWN_SPLIT_ROWS: dict[tuple[str, str], int] = {
    ("argilla/dpo-mix-7k", "train"): 6750,
    ("argilla/dpo-mix-7k", "test"): 750,
}
KNOWN_ROWS_SOURCE = "dataset card of {name} (split sizes in its README)"


def count_rows(name: str, config: str | None, split: str) -> tuple[int | None, str]:
    """(rows of a split, where the figure comes from), without downloading anything."""
    if (name, split) in KNOWN_SPLIT_ROWS and config is None:
        return KNOWN_SPLIT_ROWS[(name, split)], KNOWN_ROWS_SOURCE.format(name=name)
    path = Path(name)
    if path.is_dir():
        try:
            return len(load_split(name, config, split)), f"counted in the local copy {name}"
        except UserError as error:  # no such split, or not a dataset: the job would fail the same way
            return None, f"not counted: {error}"
    return None, f"unknown until {name} is loaded (rows are counted when the job starts)"


def load_split(name: str, config: str | None, split: str):
    """One split of a hub dataset or of a local copy (a hub download or a `save_to_disk` folder).

    A local folder the user named that `datasets` cannot read is a `UserError` with its reason,
    whatever `datasets` raised (it says "not a dataset" in many ways: no data files, a loading
    script, files of no known format)."""
    try:
        return _load_split(name, config, split)
    except UserError:
        raise
    except Exception as error:
        if not Path(name).is_dir():
            raise
        raise UserError(f"the folder {name} cannot be read as a dataset: {error}") from error


def _load_split(name: str, config: str | None, split: str):
    import datasets

    path = Path(name)
    try:
        if (path / "dataset_dict.json").is_file():
            return datasets.load_from_disk(str(path))[split]
        return datasets.load_dataset(name, config, split=split, cache_dir=_conversion_cache())
    except KeyError as error:
        raise UserError(f"dataset {name} has no split '{split}'") from error
    except ValueError as error:  # datasets reports an unknown split this way
        if "split" in str(error).lower():
            raise UserError(f"dataset {name} has no split '{split}': {error}") from error
        raise
    except (OSError, ConnectionError, datasets.exceptions.DatasetNotFoundError) as error:
        raise UserError(hub_hint("dataset", name, "--dataset")) from error


def _conversion_cache() -> str | None:
    """Where `datasets` may write the arrow files it converts data into: its own cache (None), or a
    temporary folder where that cannot be written (a confined job sees the caches read-only)."""
    import datasets

    folder = Path(datasets.config.HF_DATASETS_CACHE)
    while not folder.exists():
        folder = folder.parent
    return None if os.access(folder, os.W_OK) else tempfile.mkdtemp(prefix="datasets-")


def hub_hint(kind: str, name: str, option: str) -> str:
    """The one line that says what to download and how to use the local copy."""
    repo_type = " --repo-type dataset" if kind == "dataset" else ""
    local = f"./{name.rsplit('/', 1)[-1]}"
    return (
        f"cannot load the {kind} '{name}' (no network, or not in the local cache): on a machine with "
        f"internet run `hf download {name}{repo_type} --local-dir {local}` (huggingface_hub's CLI; "
        f"`huggingface-cli download` in versions before 1.0), copy the folder here and pass {option} {local}"
    )
