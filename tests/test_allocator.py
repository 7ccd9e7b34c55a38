"""A job process keeps the memory a training step frees, so the next step does not fault it in again."""

import subprocess
import sys

FAULTS_OF_A_STEP_LOOP = """
import resource, sys
import torch
if sys.argv[1] == "settled":
    from discovery.execution.job import settle_job_process
    settle_job_process()
def step():  # ten activations of 8 MB held through the step, freed at its end
    held = [torch.ones(2 * 2**20) for _ in range(10)]
    return sum(tensor.sum() for tensor in held)
step()  # the first step faults its pages in either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    ran = subprocess.run(
        [sys.executable, "-c", FAULTS_OF_A_STEP_LOOP, mode], capture_output=True, text=True, check=True
    )
    return int(ran.stdout.split()[-1])


def test_a_settled_job_process_reuses_freed_memory_instead_of_faulting_it_in_again():
    default, settled = page_faults("default"), page_faults("settled")
    one_step = 80 * 2**20 // 4096  # pages
    assert default > 5 * one_step  # glibc hands the blocks back and faults them in again
    assert settled < one_step
