"""Hostile and broken objectives: each is rejected at the expected stage with a readable reason, and
nothing escapes — no file outside the sandbox folder, no process left behind, no connection, the
caller and the worker alive.

Two kinds of test: the corpus in tests/hostile (one file per attack or defect, its expected stage and
reason in a header), validated normally; and containment probes that run hostile Python with the
static gate OFF and the real builtins (`Validator.probe_containment`), to show that the confined
process holds on its own, as defence in depth behind the gate.
"""

import os
import re
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from discovery.objectives import load_objective
from discovery.sandbox import Validator

CORPUS = sorted((Path(__file__).parent / "hostile").glob("*.py"))
CANARY_PREFIX = "discover_hostile_canary"
NOBODY = 65534
TIMEOUT_S = 1.5
IS_ROOT = os.geteuid() == 0


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


@pytest.fixture(scope="module")
def listener():
    """A loopback server the hostile code tries to reach; it must never see a connection."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


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
    assert _sandboxed_processes(validator) == []
    assert _alive(validator.worker_pid)


def _canaries() -> set[str]:
    return {name for name in os.listdir("/tmp") if name.startswith(CANARY_PREFIX)}


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _sandboxed_processes(validator: Validator) -> list[int]:
    """Children of the worker, and any process running as the sandbox's unprivileged user."""
    deadline = time.monotonic() + 2
    while True:
        found = set()
        children = Path(f"/proc/{validator.worker_pid}/task/{validator.worker_pid}/children")
        if children.exists():
            found.update(int(pid) for pid in children.read_text().split())
        if IS_ROOT:
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    uid_line = next(
                        line for line in status.read_text().splitlines() if line.startswith("Uid:")
                    )
                except (OSError, StopIteration):
                    continue
                if int(uid_line.split()[1]) == NOBODY:
                    found.add(int(status.parent.name))
        if not found or time.monotonic() > deadline:  # allow a killed child a moment to be reaped
            return sorted(found)
        time.sleep(0.05)


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


# --- containment probes: gate off, real builtins -------------------------------------------------


def _probe(validator: Validator, source: str) -> str:
    """Run a probe that reports what it achieved by raising; return that report."""
    verdict = validator.probe_containment(source)
    assert not verdict.ok and verdict.stage == "runtime"
    match = re.search(r"REPORT\[(.*)\]", verdict.reason)
    assert match, verdict.reason
    return match.group(1)


@pytest.mark.skipif(not IS_ROOT, reason="the confinement layers below need root")
def test_every_confinement_layer_is_active(validator):
    validator.validate(load_objective("dpo").source)
    assert validator.isolation == {
        "network_namespace": True,
        "filesystem_jail": True,
        "unprivileged_user": True,
    }


def test_no_file_or_socket_can_be_opened_at_all(validator, tmp_path):
    report = _probe(
        validator,
        f"""
import socket
results = []
for attempt in (lambda: open("{tmp_path}/new.txt", "w"), lambda: socket.socket()):
    try:
        attempt()
        results.append("opened")
    except OSError as error:
        results.append(str(error.errno))
raise ValueError(f"REPORT[{{' '.join(results)}}]")
""",
    )
    assert report == "24 24"  # EMFILE: the descriptor limit leaves no room for a new one


@pytest.mark.skipif(not IS_ROOT, reason="the network namespace needs root")
def test_connection_attempt_fails(validator, listener):
    port = listener.getsockname()[1]
    report = _probe(
        validator,
        f"""
import os, socket
os.close(0)  # free a descriptor, so the network itself (not the descriptor limit) must stop us
try:
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.settimeout(2)
    connection.connect(("127.0.0.1", {port}))
    result = "connected"
except OSError as error:
    result = f"blocked {{error.errno}}"
raise ValueError(f"REPORT[{{result}}]")
""",
    )
    assert report.startswith("blocked")


@pytest.mark.skipif(not IS_ROOT, reason="the file-system jail needs root")
def test_files_outside_the_sandbox_folder_cannot_be_read_or_written(validator, tmp_path):
    report = _probe(
        validator,
        f"""
import os
os.close(0)
results = []
for target in ("{tmp_path}/victim.txt", "{tmp_path}/new.txt", "/tmp/{CANARY_PREFIX}_probe"):
    try:
        with open(target, "w") as handle:
            handle.write("escaped")
        results.append("wrote")
    except OSError:
        results.append("refused")
try:
    open("/etc/passwd").read()
    results.append("read")
except OSError:
    results.append("refused")
raise ValueError(f"REPORT[{{' '.join(results)}}]")
""",
    )
    assert report == "refused refused refused refused"


@pytest.mark.skipif(not IS_ROOT, reason="the writable jail needs root")
def test_the_sandbox_folder_itself_is_writable(validator):
    report = _probe(
        validator,
        """
import os
os.close(0)
with open("scratch.txt", "w") as handle:
    handle.write("fine")
raise ValueError(f"REPORT[{open('scratch.txt').read()} {sorted(os.listdir('/'))}]")
""",
    )
    assert report == "fine ['scratch.txt']"


def test_no_child_process_can_be_started(validator):
    report = _probe(
        validator,
        """
import os, time
try:
    pid = os.fork()
except OSError as error:
    raise ValueError(f"REPORT[fork refused {error.errno}]")
if pid == 0:
    time.sleep(1000)
raise ValueError("REPORT[forked]")
""",
    )
    assert report.startswith("fork refused")


@pytest.mark.skipif(not IS_ROOT, reason="only the switch to an unprivileged user stops signals")
def test_parent_and_caller_cannot_be_signalled(validator):
    worker = validator.worker_pid
    report = _probe(
        validator,
        f"""
import os, signal
results = []
for pid in (os.getppid(), {os.getpid()}):
    try:
        os.kill(pid, signal.SIGKILL)
        results.append("killed")
    except OSError:
        results.append("refused")
raise ValueError(f"REPORT[{{' '.join(results)}}]")
""",
    )
    assert report == "refused refused"
    assert validator.worker_pid == worker


def test_environment_is_scrubbed(validator):
    report = _probe(validator, 'import os\nraise ValueError(f"REPORT[{dict(os.environ)}]")\n')
    assert report == "{}"
    worker_environment = Path(f"/proc/{validator.worker_pid}/environ").read_bytes()
    assert b"sk-must-not-leak" not in worker_environment


def test_memory_is_limited(validator):
    verdict = validator.probe_containment("block = bytearray(4 * 1024**3)\n")
    assert verdict.stage == "runtime" and "ran out of memory" in verdict.reason


def test_process_group_is_killed_even_if_signals_are_ignored(validator):
    source = (
        "import signal\nfor s in (signal.SIGTERM, signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)\n"
    )
    verdict = validator.probe_containment(source + "while True:\n    pass\n")
    assert verdict.stage == "runtime" and "timed out" in verdict.reason


def test_a_crash_is_reported_and_contained(validator):
    verdict = validator.probe_containment("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    assert verdict.stage == "runtime" and "SIGSEGV" in verdict.reason


def test_patching_torch_does_not_leak_into_the_next_candidate(validator):
    validator.probe_containment("torch.exp = None\ntorch.Tensor.add = None\n")
    assert validator.validate(load_objective("discopop").source).ok


def test_worker_is_replaced_if_it_dies(validator):
    first = validator.worker_pid
    os.kill(first, signal.SIGKILL)
    os.waitpid(first, 0)
    verdict = validator.validate(load_objective("dpo").source)
    assert verdict.ok and validator.worker_pid != first


def test_a_running_child_dies_with_its_worker(validator, monkeypatch):
    worker = validator.worker_pid
    children = Path(f"/proc/{worker}/task/{worker}/children")
    monkeypatch.setattr(validator, "timeout_s", 60.0)  # the worker must die first, however loaded the machine
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(validator.probe_containment, "while True:\n    pass\n")
        deadline = time.monotonic() + 10
        while not children.read_text().split() and time.monotonic() < deadline:
            time.sleep(0.02)
        (child,) = (int(pid) for pid in children.read_text().split())
        os.kill(worker, signal.SIGKILL)
        verdict = pending.result()
    assert verdict.stage == "runtime" and "worker died" in verdict.reason
    deadline = time.monotonic() + 2
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)
    assert validator.validate(load_objective("dpo").source).ok


def test_a_forged_result_is_refused(validator):
    verdict = validator.probe_containment("import os\nos.write(3, b'{\"ok\": true}')\nos._exit(0)\n")
    assert not verdict.ok and verdict.reason == "the candidate's process produced an unreadable result"
