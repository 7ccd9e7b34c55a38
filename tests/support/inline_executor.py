"""An executor that trains and scores each job in this process as it is submitted, with no worker,
no confinement and no deadline: for commands tested on test doubles (`noisy_evaluator`), whose
trainings take no time, where starting the real workers would be nearly all of a test's time."""

import importlib
from pathlib import Path

from discovery.execution.executor import JobState, JobStatus
from discovery.execution.job import CandidateJob, JobOutcome
from discovery.progress import no_progress
from evaluators.registry import get_evaluator


class InlineExecutor:
    """Every (seed, beta) of a job trained and scored by the job's evaluator, at once, in order."""

    kind = "local"

    def __init__(self, slots: int = 2, log: Path | None = None) -> None:
        self.slots = slots
        self.outcomes: dict[str, JobOutcome] = {}

    def __enter__(self) -> "InlineExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def submit(self, job: CandidateJob) -> str:
        if job.evaluator_module:
            importlib.import_module(job.evaluator_module)
        evaluator = get_evaluator(job.evaluator, job.evaluator_options, job.cache_dir)
        job_id = str(len(self.outcomes))
        trainings = []
        for point in job.points:
            beta = evaluator.betas()[0] if point.beta is None else point.beta
            folder = job.workdir / point.label()
            folder.mkdir(parents=True)
            try:
                evaluator.train(job.objective, point.seed, beta, folder, no_progress)
            except Exception as error:  # the candidate's failure, as a confined trainer's would be
                self.outcomes[job_id] = JobOutcome(failure=f"seed {point.seed}: training failed: {error}")
                return job_id
            scored = evaluator.score(folder, point.seed, no_progress)
            trainings.append(scored.model_copy(update={"seed": point.seed, "beta": beta}))
        self.outcomes[job_id] = JobOutcome(trainings=trainings)
        return job_id

    def status(self, job_id: str, job: CandidateJob) -> JobStatus:
        return JobStatus(JobState.FINISHED, outcome=self.outcomes[job_id])

    def wait(self, seconds: float) -> None:
        pass

    def cancel(self, job_id: str) -> None:
        pass

    def close(self) -> None:
        pass
