"""Run Python source confined, with the real builtins and no gate: how tests show that the confined
process holds on its own, whatever code runs in it.

`python -m tests.support.confined_probe KIND TIMEOUT` reads the source on stdin, runs it in a fresh folder
confined as the sandbox's validator (`validation`) or a candidate's trainer (`training`) confines,
and prints what came back as one JSON object. The source reports what it achieved by calling
`report({...})`. A fresh process, like the product's own workers: no thread pool to inherit.
"""

import builtins
import json
import sys
import tempfile
from pathlib import Path

import torch

from discovery.sandbox.confine import Jail, writable_by_jail
from discovery.sandbox.process import clean_workdir, run_confined


def jail(kind: str, folder: Path) -> Jail:
    if kind == "validation":  # as `discovery.sandbox.worker` confines a candidate's checks
        return Jail(workdir=folder, memory_mb=512, cpu_seconds=10, max_open_files=4)
    return Jail(  # as `discovery.execution.job` confines a candidate's training
        workdir=folder, memory_mb=512, max_processes=64, max_file_mb=16, system=True, tmp_mb=64,
        environment={"OMP_NUM_THREADS": "1"},
    )  # fmt: skip


def main() -> None:
    kind, timeout = sys.argv[1], float(sys.argv[2])
    source = sys.stdin.read()
    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="probe-"))
    writable_by_jail(folder)

    def probe(report) -> None:
        exec(compile(source, "<probe>", "exec"), {"__builtins__": builtins, "report": report, "torch": torch})

    try:
        run = run_confined(jail(kind, folder), probe, timeout)
    finally:
        clean_workdir(folder)
    print(json.dumps({"reports": run.reports, "layers": run.layers, "ended": run.ended,
                      "timed_out": run.timed_out, "folder": str(folder)}))  # fmt: skip


if __name__ == "__main__":
    main()
