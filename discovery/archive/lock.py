"""One writer per run: the OS lock on the run's `writer.lock`, and the process its file names.

A process writes a run only while it holds the run's `RunLock`; readers never take it. The lock
file names its holder (pid, host, process start time, since when), so that a run whose status is
`running` can be reported as `interrupted` when that process is gone. A pid check cannot see other
hosts (a runs folder on a shared file system), so a holder on another machine is taken to live.
"""

import fcntl
import os
import socket
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, ValidationError

from discovery.archive.errors import ArchiveError
from discovery.processes import process_alive, process_start
from discovery.records import now

LOCK_FILE = "writer.lock"


class RunBusy(ArchiveError):
    """Another live process holds the run's lock: it is the run's writer."""


class RunWriter(BaseModel):
    """The process that holds a run's lock, as its lock file names it."""

    pid: int
    host: str
    start: str | None  # see `process_start`
    since: datetime

    @classmethod
    def this_process(cls) -> "RunWriter":
        pid = os.getpid()
        return cls(pid=pid, host=socket.gethostname(), start=process_start(pid), since=now())

    def alive(self) -> bool:
        """Whether the process still runs; a process on another machine is taken to (it cannot be seen)."""
        return self.host != socket.gethostname() or process_alive(self.pid, self.start)

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since:%Y-%m-%d %H:%M:%S %Z}"


def lock_holder(run_dir: Path) -> RunWriter | None:
    """The process the run's lock file names (it holds the lock only while it lives), if any."""
    try:
        return RunWriter.model_validate_json((run_dir / LOCK_FILE).read_bytes())
    except (OSError, ValidationError):
        return None


class RunLock:
    """The exclusive right to write one run, held from construction until `release` (or the end of
    a `with` block); a second process asking for it is refused with a `RunBusy` naming the holder.

    It is an OS lock (`flock`) on `writer.lock` in the run's folder, taken without waiting, so two
    processes started together cannot both get it. The kernel drops it when its holder exits,
    however it exits (SIGKILL, out of memory), so a dead holder never blocks a resume, and there is
    no lease to renew while a candidate trains for hours. It belongs to the process, not to a thread
    or a database connection: every thread of the holder may write the run. On NFS, Linux takes the
    lock on the server, which frees it when the holder's machine stops renewing its lease. Python
    opens files non-inheritable, so helpers started with exec never keep it past their parent.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        path = self.run_dir / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ArchiveError(f"cannot write run {self.run_dir.name}: {path}: {error.strerror}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = lock_holder(self.run_dir)
            writer = holder if holder is not None and holder.alive() else "another process"
            raise RunBusy(
                f"run {self.run_dir.name} is being written by {writer}: stop it first, or wait until it ends"
            ) from None
        self._fd: int | None = fd
        try:
            os.ftruncate(fd, 0)  # a killed holder's name may still be there
            os.pwrite(fd, RunWriter.this_process().model_dump_json().encode(), 0)
        except OSError as error:
            self.release()
            raise ArchiveError(f"cannot write run {self.run_dir.name}: {path}: {error.strerror}") from error

    def release(self) -> None:
        """Give the lock up; the file stops naming this process (a killed holder's name stays in it,
        which is why readers check that the named process lives)."""
        if self._fd is not None:
            with suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the only descriptor of the lock drops it
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
