"""Hostile and broken objectives: each is rejected at the expected stage with a readable reason, and
nothing escapes — no file outside the sandbox folder, no process left behind, no connection, the
caller and the worker alive.

Two kinds of test: the corpus in tests/hostile (one file per attack or defect, its expected stage and
reason in a header), validated normally; and containment probes that run hostile Python with the
static gate OFF and the real builtins (`tests/support/confined_probe.py`), confined as a validation child
and as a candidate's trainer are, to show that the confined process is the boundary on its own.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from discovery.objectives import load_objective
from discovery.sandbox import Validator
from discovery.sandbox.confine import NOBODY

CORPUS = sorted((Path(__file__).parent / "hostile").glob("*.py"))
CANARY_PREFIX = "discover_hostile_canary"
TIMEOUT_S = 1.5
IS_ROOT = os.geteuid() == 0
PROJECT = Path(__file__).resolve().parents[1]  # its packages are visible to a trainer, nothing else of it


def _header(path: Path, key: str) -> str:
    match = re.search(rf"^# {key}: (.+)$", path.read_text(), re.MULTILINE)
    assert match, f"{path.name} lacks a '# {key}:' header"
    return match.group(1).strip()


@pytest.fixture(scope="module")
def validator():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DISCOVER_SANDBOX_TEST_SECRET", "sk-must-not-leak")
        with Validator(timeout_s=TIMEOUT_S, memory_mb=512) as validator:
            yield validator


@pytest.fixture(autouse=True)
def nothing_escapes(validator, listener, tmp_path):
    """Around every test: no canary file appears, the victim file is untouched, no connection reaches
    the listener, no sandboxed process survives, and a worker is alive to take the next candidate."""
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    canaries_before = _canaries()
    yield
    assert _canaries() == canaries_before, "a file was created outside the sandbox folder"
    assert victim.read_text() == "original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.txt"]
    with pytest.raises(BlockingIOError):
        listener.accept()
    assert _sandboxed_processes() == []
    assert len(_workers()) == 1


def _canaries() -> set[str]:
    return {name for name in os.listdir("/tmp") if name.startswith(CANARY_PREFIX)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _workers() -> list[int]:
    """The sandbox worker processes this test process started (found in /proc, as a user would)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and b"discovery.sandbox.worker" in command:
            found.append(int(stat.parent.name))
    return found


def _sandboxed_processes() -> list[int]:
    """Processes of this test's making that run as the sandbox's unprivileged user (given a moment
    to be reaped); other test runs on the machine have their own."""
    if not IS_ROOT:
        return []
    deadline = time.monotonic() + 2
    while True:
        found = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                uid_line = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
            except (OSError, StopIteration):
                continue
            pid = int(status.parent.name)
            if int(uid_line.split()[1]) == NOBODY and _descends_from_us(pid):
                found.append(pid)
        if not found or time.monotonic() > deadline:
            return sorted(found)
        time.sleep(0.05)


def _descends_from_us(pid: int) -> bool:
    while pid > 1:
        if pid == os.getpid():
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


def test_corpus_is_large_and_covers_every_stage():
    stages = [_header(path, "expect") for path in CORPUS]
    assert len(CORPUS) >= 40
    assert {"static", "runtime", "functional"} == set(stages)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_hostile_objective_is_rejected_at_its_stage(validator, path):
    verdict = validator.validate(path.read_text())
    assert not verdict.ok
    assert verdict.fingerprint is None
    assert (verdict.stage, path.name) == (_header(path, "expect"), path.name)
    assert _header(path, "reason").lower() in verdict.reason.lower()
    assert len(verdict.reason) < 600, "reasons stay short enough to feed back to an LLM"


def test_hang_is_killed_at_the_deadline(validator):
    verdict = validator.validate((Path(__file__).parent / "hostile" / "infinite_loop.py").read_text())
    assert verdict.stage == "runtime"
    assert TIMEOUT_S <= verdict.seconds < TIMEOUT_S + 2


def test_worker_stays_usable_after_hostile_candidates(validator):
    assert validator.validate(load_objective("dpo").source).ok


# --- containment probes: gate off, real builtins, in a fresh process ------------------------------


def _probe(kind: str, source: str, timeout: float = 10.0) -> dict:
    """Run `source` confined as `kind` ("validation" or "training") confines; what came back."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.confined_probe", kind, str(timeout)],
        input=source,
        capture_output=True,
        text=True,
        timeout=timeout + 120,
        cwd=Path(__file__).parents[1],
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _said(result: dict) -> dict:
    """Everything the probe reported, merged."""
    merged: dict = {}
    for report in result["reports"]:
        merged |= report
    return merged


KINDS = ["validation", "training"]


@pytest.mark.skipif(not IS_ROOT, reason="the confinement layers below need root here")
@pytest.mark.parametrize("kind", KINDS)
def test_every_confinement_layer_is_active(kind):
    result = _probe(kind, "report({'alive': True})")
    assert result["layers"] == {
        "network_namespace": True,
        "pid_namespace": True,
        "mount_namespace": True,
        "filesystem_jail": True,
        "loopback_only_network": True,
        "unprivileged_user": True,
    }


def test_a_validation_child_cannot_open_any_file_or_socket(tmp_path):
    source = f"""
import socket
results = []
for attempt in (lambda: open("{tmp_path}/new.txt", "w"), lambda: socket.socket()):
    try:
        attempt()
        results.append("opened")
    except OSError as error:
        results.append(str(error.errno))
report({{"results": results}})
"""
    assert _said(_probe("validation", source))["results"] == ["24", "24"]  # EMFILE: no descriptor left


@pytest.mark.parametrize("kind", KINDS)
def test_connection_attempt_fails(kind, listener):
    port = listener.getsockname()[1]
    source = f"""
import os, socket
try:
    os.close(0)  # free a descriptor, so the network itself (not the descriptor limit) must stop us
except OSError:
    pass
try:
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.settimeout(2)
    connection.connect(("127.0.0.1", {port}))
    result = "connected"
except OSError as error:
    result = f"blocked {{error.errno}}"
report({{"result": result}})
"""
    assert _said(_probe(kind, source))["result"].startswith("blocked")


@pytest.mark.skipif(not IS_ROOT, reason="the file-system jail needs root here")
@pytest.mark.parametrize("kind", KINDS)
def test_files_outside_the_sandbox_folder_cannot_be_read_or_written(kind, tmp_path):
    source = f"""
import os
os.close(0)
results = []
for target in ("{tmp_path}/victim.txt", "{tmp_path}/new.txt", "/tmp/{CANARY_PREFIX}_probe",
               "{PROJECT}/escaped.txt"):
    try:
        with open(target, "w") as handle:
            handle.write("escaped")
        results.append("wrote")
    except OSError:
        results.append("refused")
for target in ("/etc/shadow", "{tmp_path}/victim.txt", "{PROJECT / "pyproject.toml"}"):
    try:
        open(target).read()
        results.append("read")
    except OSError:
        results.append("refused")
report({{"results": results, "root": sorted(os.listdir("/"))}})
"""
    said = _said(_probe(kind, source))
    # a trainer's /tmp is a private one of its own (the canary check shows nothing reached ours)
    private_tmp = "wrote" if kind == "training" else "refused"
    assert said["results"] == ["refused", "refused", private_tmp, "refused", "refused", "refused", "refused"]
    if kind == "validation":
        assert said["root"] == ["dev", "proc", "tmp"]  # /dev/null and such; its folder lies under tmp
    else:
        assert "home" not in said["root"] and "etc" in said["root"]  # the system, read-only


@pytest.mark.skipif(not IS_ROOT, reason="the writable jail needs root here")
@pytest.mark.parametrize("kind", KINDS)
def test_the_sandbox_folder_itself_is_writable(kind):
    source = """
import os
os.close(0)
with open("scratch.txt", "w") as handle:
    handle.write("fine")
report({"read": open("scratch.txt").read(), "cwd": os.listdir(".")})
"""
    said = _said(_probe(kind, source))
    assert said == {"read": "fine", "cwd": ["scratch.txt"]}


def test_a_validation_child_cannot_start_a_process():
    source = """
import os, time
try:
    pid = os.fork()
except OSError as error:
    report({"fork": f"refused {error.errno}"})
else:
    if pid == 0:
        time.sleep(1000)
    report({"fork": "forked"})
"""
    assert _said(_probe("validation", source))["fork"].startswith("refused")


@pytest.mark.parametrize("kind", KINDS)
def test_processes_it_starts_die_with_it_even_if_they_leave_its_group(kind):
    """A trainer may start processes (threads, data workers); at the deadline all of them die,
    even one that made itself a session and process group of its own."""
    source = """
import os, time
pid = os.fork()
if pid == 0:
    os.setsid()
    while True:
        time.sleep(0.1)
report({"child": pid})
while True:
    time.sleep(0.1)
"""
    before = set(_sandboxed_processes())
    result = _probe(kind, source, timeout=3) if kind == "training" else _probe(kind, "report({'ok': 1})")
    if kind == "training":
        assert result["timed_out"] and "killed" in result["ended"]
    assert set(_sandboxed_processes()) <= before


@pytest.mark.parametrize("kind", KINDS)
def test_no_process_outside_can_be_seen_or_signalled(kind):
    source = f"""
import os, signal
try:
    os.kill({os.getpid()}, signal.SIGKILL)
    result = "reached"
except OSError:
    result = "refused"
report({{"result": result, "pid": os.getpid(), "parent": os.getppid()}})
"""
    said = _said(_probe(kind, source))
    assert said["result"] == "refused"  # this test's own process, alive to check it
    assert (said["pid"], said["parent"]) == (1, 0)  # PID 1 of a namespace of its own: its parent is outside


@pytest.mark.parametrize("kind", KINDS)
def test_environment_is_scrubbed(kind, monkeypatch):
    monkeypatch.setenv("DISCOVER_SANDBOX_TEST_SECRET", "sk-must-not-leak")
    said = _said(_probe(kind, "import os\nreport({'environment': dict(os.environ)})"))
    assert "DISCOVER_SANDBOX_TEST_SECRET" not in said["environment"]
    assert not any("sk-must-not-leak" in value for value in said["environment"].values())


@pytest.mark.parametrize("kind", KINDS)
def test_memory_is_limited(kind):
    source = """
try:
    block = bytearray(8 * 1024**3)
    report({"allocated": True})
except MemoryError:
    report({"allocated": False})
"""
    assert _said(_probe(kind, source))["allocated"] is False


@pytest.mark.parametrize("kind", KINDS)
def test_a_hang_that_ignores_signals_is_killed_at_the_deadline(kind):
    source = (
        "import signal\nfor s in (signal.SIGTERM, signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)\n"
        "report({'started': True})\nwhile True:\n    pass\n"
    )
    started = time.monotonic()
    result = _probe(kind, source, timeout=2)
    assert result["timed_out"] and "timed out" in result["ended"]
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("kind", KINDS)
def test_a_crash_is_reported_and_contained(kind):
    result = _probe(kind, "import ctypes\nctypes.string_at(0)\n")  # a real fault, not a signal sent
    assert "SIGSEGV" in result["ended"]


def test_patching_torch_does_not_leak_into_the_next_candidate(validator):
    """Each candidate runs in a fresh child of the worker: what one changes, the next never sees."""
    patch = load_objective("dpo").source.replace(
        "    rho =", "    F.logsigmoid = None\n    torch.exp = None\n    rho ="
    )
    validator.validate(patch)  # refused statically; patched at runtime, it would die with its child
    assert validator.validate(load_objective("discopop").source).ok


def test_worker_is_replaced_if_it_dies(validator):
    (first,) = _workers()
    os.kill(first, signal.SIGKILL)
    os.waitpid(first, 0)
    verdict = validator.validate(load_objective("dpo").source)
    assert verdict.ok and _workers() != [first]
