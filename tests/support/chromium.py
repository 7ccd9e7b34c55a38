"""A page loaded in headless Chromium, watched through the DevTools protocol.

Just enough of the protocol for the report's tests: open a page, wait for it to load, and say what
a reader would have met: console messages and uncaught exceptions, log entries (a resource that
failed, a Content-Security-Policy violation), dialogs a script opened, the size of elements, and a
screenshot. The browser is Debian's `chromium` (`.ci/chromium` installs it).
"""

import base64
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

REQUIRED_ENV = "DISCOVER_REQUIRE_CHROMIUM"  # set by CI: a missing browser fails instead of skipping
LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def find_chromium() -> str | None:
    return next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


@dataclass
class Loaded:
    """What happened while a page loaded, and what its elements measure."""

    problems: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads, dialogs
    measured: Any = None  # what the measuring expression returned
    screenshot: bytes = b""

    @property
    def measured_json(self) -> Any:
        """The measurement, for an expression that returns `JSON.stringify(...)`."""
        return json.loads(self.measured)


class Chromium:
    """A headless Chromium with one connection to its DevTools endpoint; use as a context manager."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900, timeout: float = 60) -> None:
        self._size = (width, height)
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._events: list[dict] = []
        # Undone in reverse: the browser asked to quit, the connection closed, its process group
        # ended, then its profile folder removed.
        self._stack = ExitStack()
        try:
            profile = self._stack.enter_context(
                tempfile.TemporaryDirectory(prefix="discover-chromium-", ignore_cleanup_errors=True)
            )
            arguments = [
                binary,
                "--headless",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--hide-scrollbars",
                f"--window-size={width},{height}",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ]
            if os.geteuid() == 0:  # Chromium refuses to run as root inside its own sandbox
                arguments.insert(1, "--no-sandbox")
            process = subprocess.Popen(
                arguments,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # its renderers and helpers share its process group
            )
            self._stack.enter_context(process)  # waits for it and closes its pipe
            self._stack.callback(_stop, process)
            endpoint = _endpoint(process, timeout)
            self._socket = self._stack.enter_context(
                connect(endpoint, max_size=None, open_timeout=timeout, proxy=None)
            )
            self._stack.callback(self._quit)
        except BaseException:
            self._stack.close()
            raise

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result, keeping the events that arrive meanwhile."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        while True:
            reply = json.loads(self._socket.recv(timeout=self._timeout))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._events.append(reply)

    def _wait_for(self, method: str, session: str) -> None:
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self._events):
            event = json.loads(self._socket.recv(timeout=self._timeout))
            self._events.append(event)
            if event.get("method") == "Page.javascriptDialogOpening":  # it would hold the page: dismiss it
                self.call("Page.handleJavaScriptDialog", {"accept": False}, event.get("sessionId"))

    def load(self, page: Path, measure: str, scale: float = 1.0, settle: float = 0.5) -> Loaded:
        """Open `page` in a fresh tab, wait for its load event, evaluate the JavaScript expression
        `measure` (by the protocol, not by the page, so the page's own policy does not apply), and
        take a screenshot of the top of the page (the window's size, times `scale`)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=session)
        self._events.clear()
        self.call("Page.navigate", {"url": page.resolve().as_uri()}, session)
        self._wait_for("Page.loadEventFired", session)
        time.sleep(settle)  # late console messages and policy reports
        result = self.call("Runtime.evaluate", {"expression": measure, "returnByValue": True}, session)
        width, height = self._size
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}
        capture = {"format": "png", "clip": clip, "captureBeyondViewport": True}
        shot = self.call("Page.captureScreenshot", capture, session)
        self.call("Target.closeTarget", {"targetId": target})
        return Loaded(
            problems=[_problem(e) for e in self._events if e.get("sessionId") == session and _problem(e)],
            measured=result["result"].get("value"),
            screenshot=base64.b64decode(shot["data"]),
        )

    def _quit(self) -> None:
        """Ask the browser to quit, so that it stops writing into its profile before that is removed."""
        with suppress(OSError, RuntimeError, TimeoutError, ConnectionClosed):
            self.call("Browser.close")

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _endpoint(process: subprocess.Popen, timeout: float) -> str:
    """The browser's DevTools address, from the line Chromium prints on stderr when it listens."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        found = LISTENING.search(line)
        if found:
            return found.group(1)
    raise RuntimeError("chromium did not start its DevTools endpoint:\n" + "".join(seen[-20:]))


def _stop(process: subprocess.Popen) -> None:
    """Give the browser a moment to quit, then end its process group (the session it leads)."""
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _problem(event: dict) -> str | None:
    """The event as a line if a reader would have met an error in it, else None."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        return f"exception: {params['exceptionDetails'].get('text')}"
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
        return f"console {params['type']}: {[a.get('value') for a in params.get('args', [])]}"
    if method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
        return f"log {params['entry']['level']}: {params['entry'].get('text')}"
    if method == "Page.javascriptDialogOpening":
        return f"dialog: {params.get('message')}"
    return None
