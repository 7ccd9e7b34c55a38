"""Lock the current (freshly forked) process in before untrusted code runs in it. Linux only.

Layers, each independent of the static gate and of each other:
- its own process group, killed as a whole by the worker at the wall-clock deadline, and death
  with the worker (PR_SET_PDEATHSIG);
- a scrubbed environment and stdio on /dev/null;
- a private network namespace with no interfaces up, so every connection fails (needs root);
- a private mount namespace whose root is an empty tmpfs over the candidate's temporary folder
  (chroot), so no other file is visible, let alone writable (needs root; otherwise the process
  only moves into the folder);
- no file descriptor beyond the result pipe and no room for a new one (no open, socket or pipe);
- rlimits on address space, CPU time, file size and core dumps, and zero child processes;
- as root, a switch to the unprivileged `nobody` user, which makes the process-count limit bind and
  leaves it unable to signal the worker or the trainer, then no-new-privileges.
"""

import ctypes
import os
import resource
import signal

_CLONE_NEWNS = 0x00020000
_CLONE_NEWNET = 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_NO_NEW_PRIVS = 1, 4, 38
_NOBODY = 65534
RESULT_FD = 3
_JAIL_BYTES = 4 * 1024 * 1024

_libc = ctypes.CDLL(None, use_errno=True)


def confine(folder: str, cpu_seconds: int, memory_mb: int) -> dict[str, bool]:
    """Apply every layer that this machine allows; returns which of the optional ones took effect.

    The caller has put its result pipe on RESULT_FD; every other descriptor above stdio is closed."""
    mapped = _virtual_memory_bytes()
    worker = os.getppid()
    os.setpgid(0, 0)
    _silence_stdio()
    os.environ.clear()
    layers = {"network_namespace": _unshare(_CLONE_NEWNET)}
    layers["filesystem_jail"] = _jail(folder)
    os.closerange(RESULT_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    layers["unprivileged_user"] = _drop_privileges()
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after the uid switch, which clears it
    if os.getppid() != worker:  # the worker died before the signal was armed
        os._exit(1)
    _set_limits(cpu_seconds, mapped + memory_mb * 1024 * 1024)
    _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    return layers


def _silence_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _unshare(flags: int) -> bool:
    return _libc.unshare(flags) == 0


def _jail(folder: str) -> bool:
    """Make an empty, size-capped tmpfs over `folder` the root directory; else just work inside `folder`."""
    os.chdir(folder)
    if not _unshare(_CLONE_NEWNS):
        return False
    private = _libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) == 0
    options = f"size={_JAIL_BYTES},mode=0777".encode()
    mounted = (
        private and _libc.mount(b"tmpfs", folder.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) == 0
    )
    if not mounted:
        return False
    os.chdir(folder)
    os.chroot(".")
    os.chdir("/")
    return True


def _drop_privileges() -> bool:
    if os.geteuid() != 0:
        return False
    os.setgroups([])
    os.setresgid(_NOBODY, _NOBODY, _NOBODY)
    os.setresuid(_NOBODY, _NOBODY, _NOBODY)
    return True


def _set_limits(cpu_seconds: int, address_space: int) -> None:
    for limit, soft, hard in (
        (resource.RLIMIT_AS, address_space, address_space),
        (resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1),
        (resource.RLIMIT_FSIZE, 1024 * 1024, 1024 * 1024),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NPROC, 0, 0),
        (resource.RLIMIT_NOFILE, RESULT_FD + 1, RESULT_FD + 1),
    ):
        resource.setrlimit(limit, (soft, hard))


def _virtual_memory_bytes() -> int:
    """Address space already mapped (torch maps a lot); the memory limit comes on top of it."""
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
