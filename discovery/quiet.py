"""Silence the libraries' own progress bars and notices while our display shows progress."""

import os
import warnings


def quiet_libraries() -> None:
    """Hide datasets / transformers / TRL progress bars, info logs and deprecation notices.

    Their FutureWarnings (e.g. the rename of `gradient_checkpointing`) are addressed to library
    authors, not to our users; errors still surface.
    """
    import datasets
    import transformers

    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    os.environ.setdefault("TQDM_DISABLE", "1")  # TRL's reference log-prob pass reads this
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
