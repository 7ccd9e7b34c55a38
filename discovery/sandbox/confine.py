"""Lock a freshly forked process in before untrusted code runs in it. Linux only.

`confine(jail)` is called by the process that will run candidate code, after it was forked into
new namespaces by `discovery.sandbox.process` (which also kills it at its deadline). Layers, each
independent of the static gate and of each other:

- a private network namespace: only a loopback interface (down unless the jail asks for it), so
  no connection leaves the process's own namespace;
- a private mount namespace whose root is a fresh tmpfs: either empty apart from the working
  folder (`system=False`, for a process that has imported everything it needs), or holding
  read-only binds of the system and Python libraries, the jail's readable folders (the task's
  cache) and the requested GPU devices (`system=True`, for a trainer that imports lazily);
  everywhere the only writable places are the working folder and, if the jail asks, a private /tmp;
- a private PID namespace (made by the caller) with its own /proc, so no other process is visible;
- a scrubbed environment (only what the jail passes), no input, output to /dev/null or a log;
- rlimits on address space, CPU time, file size, open files and processes, no core dumps;
- an unprivileged identity: as root, the `nobody` user; without root, a user namespace whose
  capabilities are dropped once the jail is built; then no-new-privileges, so nothing regains them.

Layers the machine refuses (no user namespaces, say) are reported as inactive, never silently
faked: `confine` returns which layers took effect, and the candidate's record keeps that.
"""

import ctypes
import fcntl
import os
import resource
import socket
import struct
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
NOBODY = 65534  # the user a confined process runs as, when we are root
_LAST_CAPABILITY = 63
_JAIL_ROOT_BYTES = 64 * 1024 * 1024
# Devices a process may need: entropy, /dev/null for stdio, /dev/zero and /dev/full for libraries.
_DEVICES = ("null", "zero", "full", "random", "urandom")
# System folders bound read-only when a jail asks for the system (merged-/usr links are re-created).
_SYSTEM_FOLDERS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/alternatives")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group")
_NVIDIA_SHARED = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Jail:
    """Where a confined process may read and write, and its limits."""

    workdir: Path  # the one writable folder; becomes the working directory
    memory_mb: int | None  # address space on top of what the process maps when confined; None: no limit
    cpu_seconds: int | None = None  # None: only the caller's wall-clock deadline applies
    max_processes: int = 0  # threads count too; 0 forbids any new process or thread
    max_file_mb: int = 1
    max_open_files: int | None = None  # None: the system's limit; 4 leaves only stdio and the report pipe
    tmp_mb: int = 0  # a private /tmp of this size (memory-backed, so it counts); 0: none, read-only
    keep_stderr: bool = False  # write its output to the caller's stderr (a log), else to /dev/null
    system: bool = False  # bind the system and Python read-only (for code that imports lazily)
    readable: tuple[Path, ...] = ()  # further folders or files, bound read-only (task caches)
    gpus: tuple[int, ...] = ()  # GPU indices the process may see (device files + CUDA_VISIBLE_DEVICES)
    loopback: bool = False  # bring up the namespace's own loopback (multi-process training talks over it)
    environment: dict[str, str] = field(default_factory=dict)  # the whole environment it gets


def writable_by_jail(folder: Path) -> None:
    """Make `folder` (empty, ours) the one a confined process may write: as root, hand it to `nobody`."""
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)


def open_for_reading(folder: Path) -> None:
    """Let every user read `folder` (what we own of it): confined trainers run as another user, and
    temporary folders and some saved files (weights) are created private."""
    uid = os.geteuid()
    for path in (Path(folder), *Path(folder).rglob("*")):
        info = path.lstat()
        if info.st_uid == uid and not path.is_symlink():
            wanted = 0o055 if path.is_dir() else 0o044
            if info.st_mode & wanted != wanted:
                path.chmod((info.st_mode & 0o7777) | wanted)


def unreadable_in_jail(path: Path, most: int = 10_000) -> Path | None:
    """The first file or folder under `path` that a confined process, running as another user,
    could not read (or enter); None when all of it is open to it. Looks at `most` entries at most."""
    if os.geteuid() != 0:
        return None  # without root the confined process keeps the caller's own user
    for count, entry in enumerate((Path(path), *Path(path).rglob("*"))):
        if count >= most:
            return None
        mode = entry.lstat().st_mode
        wanted = 0o005 if entry.is_dir() and not entry.is_symlink() else 0o004
        if not entry.is_symlink() and mode & wanted != wanted:
            return entry
    return None


def namespaces() -> int:
    """The namespaces a confined process gets: network, mount and PID, plus a user namespace
    where the caller is not root (unprivileged user namespaces make the rest possible)."""
    flags = _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID
    return flags if os.geteuid() == 0 else flags | _CLONE_NEWUSER


def enter_namespaces() -> dict[str, bool]:
    """Unshare into fresh namespaces (the next child is PID 1 of the new PID namespace).

    Called by the first forked process; returns which namespaces were obtained. Without root the
    user namespace maps the caller's own uid, so files it writes stay the caller's.
    """
    uid, gid = os.geteuid(), os.getegid()
    if _libc.unshare(namespaces()) == 0:
        if uid != 0:
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        return {"network_namespace": True, "pid_namespace": True, "mount_namespace": True}
    # Fall back to whatever can be had one by one (a machine without user namespaces, say).
    return {
        "network_namespace": _libc.unshare(_CLONE_NEWNET) == 0,
        "pid_namespace": _libc.unshare(_CLONE_NEWPID) == 0,
        "mount_namespace": _libc.unshare(_CLONE_NEWNS) == 0,
    }


def confine(jail: Jail, mount_namespace: bool) -> dict[str, bool]:
    """Apply the jail to this process (PID 1 of its namespace); returns which layers took effect.

    Everything here runs before any untrusted code; an exception means the process must not run it.
    """
    mapped = _virtual_memory_bytes()
    os.setpgid(0, 0)
    _silence_stdio(jail.keep_stderr)
    os.environ.clear()
    os.environ.update(jail.environment)
    if jail.gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(index) for index in jail.gpus)
    layers = {"filesystem_jail": mount_namespace and _build_root(jail)}
    if not layers["filesystem_jail"]:
        os.chdir(jail.workdir)
    layers["loopback_only_network"] = not jail.loopback or _loopback_up()
    layers["unprivileged_user"] = _drop_privileges()
    _libc.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)  # after the identity switch, which clears it
    _set_limits(jail, mapped)
    _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    return layers


def jail_root(workdir: Path) -> Path:
    """The empty folder the jail's tmpfs root is mounted on (made and removed by the caller)."""
    return Path(workdir).with_name(Path(workdir).name + ".root")


def _build_root(jail: Jail) -> bool:
    """A tmpfs root with only what the jail allows, then chroot into it; False if the mounts fail."""
    root = jail_root(jail.workdir)
    if _libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return False
    if not _mount(b"tmpfs", root, b"tmpfs", _MS_NOSUID | _MS_NODEV, f"size={_JAIL_ROOT_BYTES},mode=0755"):
        return False
    tmp = root / "tmp"  # first: the working folder and the task cache may live under /tmp
    tmp.mkdir(mode=0o1777)
    if jail.tmp_mb and not _mount(
        b"tmpfs", tmp, b"tmpfs", _MS_NOSUID | _MS_NODEV, f"size={jail.tmp_mb * 1024 * 1024},mode=1777"
    ):
        return False
    workdir = Path(jail.workdir).resolve()
    binds: list[tuple[Path, bool]] = [(workdir, True)]
    if jail.system:
        binds += [(Path(p), False) for p in (*_SYSTEM_FOLDERS, *_SYSTEM_FILES, *_python_paths())]
    binds += [(Path(p).resolve(), False) for p in jail.readable]
    for source, writable in binds:
        if not _bind(source, root, writable):
            return False
    _add_devices(root, jail.gpus)
    proc = root / "proc"
    proc.mkdir()
    if not _mount(b"proc", proc, b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, ""):
        return False
    if not _mount(None, root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None):
        return False  # nothing but the working folder and /tmp stays writable
    os.chdir(root)
    os.chroot(".")
    os.chdir(workdir)
    return True


def _bind(source: Path, root: Path, writable: bool) -> bool:
    """Bind `source` at the same path inside `root` (a symbolic link is re-created as one)."""
    if not os.path.lexists(source):
        return True  # optional system paths differ between distributions
    target = root / source.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if source.is_symlink() and str(source) in _SYSTEM_FOLDERS:
        if not os.path.lexists(target):
            target.symlink_to(os.readlink(source))
        return True
    if os.path.lexists(target):
        return True  # already inside a folder bound before
    if source.is_dir():
        target.mkdir(mode=0o755)
    else:
        target.touch(mode=0o644)
    if not _mount(str(source).encode(), target, None, _MS_BIND | _MS_REC, None):
        return False
    flags = _MS_REMOUNT | _MS_BIND | _MS_NOSUID | _MS_NODEV | (0 if writable else _MS_RDONLY)
    return _mount(None, target, None, flags, None)


def _add_devices(root: Path, gpus: tuple[int, ...]) -> None:
    """The harmless character devices, and the GPU device files of the jail's GPUs only."""
    devices = [f"/dev/{name}" for name in _DEVICES]
    if gpus:
        devices += [f"/dev/nvidia{index}" for index in gpus] + [f"/dev/{name}" for name in _NVIDIA_SHARED]
    for device in devices:
        if os.path.exists(device):
            target = root / device.lstrip("/")
            target.parent.mkdir(exist_ok=True, mode=0o755)
            target.touch(mode=0o666)
            _mount(device.encode(), target, None, _MS_BIND, None)


def _python_paths() -> list[str]:
    """The interpreter, its libraries (stdlib, site-packages) and, for code loaded from elsewhere
    (an editable install, a task of the user's), only the packages themselves: a project folder
    holding them may hold runs, data and secrets the trainer must not see."""
    roots = {os.path.join(prefix, "lib") for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots |= {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.add(os.path.dirname(sys.executable))
    roots = {os.path.realpath(root) for root in roots if os.path.isdir(root)}
    for module in list(sys.modules.values()):
        location = _package_location(module)
        if location and not any(location.startswith(root + "/") for root in roots):
            roots.add(location)
    ordered = sorted(roots)
    return [path for index, path in enumerate(ordered) if not any(
        path.startswith(parent + "/") for parent in ordered[:index]
    )]  # fmt: skip


def _package_location(module: object) -> str | None:
    """The folder of a loaded module's top-level package (or the module's file when it has none)."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    top = sys.modules.get(getattr(module, "__name__", "").split(".")[0])
    top_file = getattr(top, "__file__", None) or file
    is_package = os.path.basename(top_file) == "__init__.py"
    return os.path.realpath(os.path.dirname(top_file) if is_package else top_file)


def _mount(source: bytes | None, target: Path, kind: bytes | None, flags: int, data: str | None) -> bool:
    options = data.encode() if data is not None else None
    return _libc.mount(source, str(target).encode(), kind, flags, options) == 0


def _loopback_up() -> bool:
    """Bring up `lo` inside the fresh network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            request = struct.pack("16sh", b"lo", 0)
            flags = struct.unpack("16sh", fcntl.ioctl(probe, siocgifflags, request))[1]
            fcntl.ioctl(probe, siocsifflags, struct.pack("16sh", b"lo", flags | iff_up))
        return True
    except OSError:
        return False


def _silence_stdio(keep_stderr: bool) -> None:
    """No input; output to /dev/null, or everything to the caller's stderr (its log)."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2 if keep_stderr else null, 1)
    if not keep_stderr:
        os.dup2(null, 2)
    os.close(null)


def _drop_privileges() -> bool:
    """As root: become `nobody`. In a user namespace: give up every capability it granted."""
    if os.geteuid() == 0 and not _in_user_namespace():
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
        return True
    for capability in range(_LAST_CAPABILITY + 1):
        _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = struct.pack("II", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    empty = ctypes.create_string_buffer(24)  # effective, permitted, inheritable: all zero
    return _libc.syscall(125, ctypes.c_char_p(header), empty) == 0  # SYS_capset (x86-64)


def _in_user_namespace() -> bool:
    """Whether this process's uid 0 is a mapped one (a user namespace), not the machine's root."""
    try:
        first = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        return False
    return first[:3] != ["0", "0", "4294967295"]


def _set_limits(jail: Jail, mapped: int) -> None:
    limits = [
        (resource.RLIMIT_FSIZE, jail.max_file_mb * 1024 * 1024),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, jail.max_processes),
    ]
    if jail.memory_mb is not None:
        limits.append((resource.RLIMIT_AS, mapped + jail.memory_mb * 1024 * 1024))
    if jail.cpu_seconds is not None:
        limits.append((resource.RLIMIT_CPU, jail.cpu_seconds))
    if jail.max_open_files is not None:
        limits.append((resource.RLIMIT_NOFILE, jail.max_open_files))
    for limit, value in limits:
        hard = value + 1 if limit == resource.RLIMIT_CPU else value
        resource.setrlimit(limit, (value, hard))


def _virtual_memory_bytes() -> int:
    """Address space already mapped (torch maps a lot); the memory limit comes on top of it."""
    with open("/proc/self/statm") as statm:  # not /proc/PID: a new PID namespace renumbers us
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
