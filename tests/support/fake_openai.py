"""A local OpenAI-compatible chat server for tests: replays a script of replies, records requests.

    with FakeOpenAI([Reply.status(429), Reply.proposal(name="x", code=CODE)]) as server:
        proposer = OpenAIProposer(EndpointSettings(model="fake", base_url=server.base_url))
        ...
        assert len(server.requests) == 2

Loopback only, stdlib only. Every POST to `/v1/chat/completions` consumes the next scripted reply
(an exhausted script answers HTTP 500 "script exhausted", which a test sees as a failure).
`reject_response_format={"json_schema"}` makes the server answer HTTP 400 to requests asking for
that kind of structured output, without consuming a reply, like servers that do not support it.

Besides well-formed answers, a reply can be what a broken or hostile server sends: any bytes under
any content type (`Reply.raw`), a body shorter than its Content-Length (`Reply.truncated`), a body
sent one byte at a time (`Reply.trickle`), or headers and then silence (`Reply.stall`). Every wait
is bounded and ends when the server stops, so a test never hangs on its own server.
"""

import json
import socket
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "fake-model"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: an HTTP status with a JSON body, optionally after a delay."""

    status_code: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before the status line
    raw: bytes | None = None  # sent instead of the JSON of `body`
    content_type: str = "application/json"
    missing_bytes: int = 0  # Content-Length claims this many bytes more than are sent, then the socket closes
    byte_every_s: float = 0.0  # the body is sent one byte at a time, this far apart
    stall_s: float = 0.0  # after the headers, before the body

    @property
    def payload(self) -> bytes:
        return self.raw if self.raw is not None else json.dumps(self.body).encode()

    @classmethod
    def raw_body(cls, data: bytes, content_type: str = "application/json", status: int = 200) -> "Reply":
        """HTTP `status` with `data` as the body, whatever it is."""
        return cls(status_code=status, raw=data, content_type=content_type)

    @classmethod
    def truncated(cls, reply: "Reply", keep: int) -> "Reply":
        """`reply`'s first `keep` bytes under the full Content-Length, then the connection closes."""
        payload = reply.payload
        return replace(reply, raw=payload[:keep], missing_bytes=len(payload) - keep)

    @classmethod
    def trickle(cls, reply: "Reply", every_s: float) -> "Reply":
        """`reply` sent one byte every `every_s` seconds."""
        return replace(reply, byte_every_s=every_s)

    @classmethod
    def stall(cls, seconds: float, reply: "Reply | None" = None) -> "Reply":
        """Headers at once, then `seconds` of silence before `reply`'s body (a chat reply by default)."""
        return replace(reply or cls.chat("late"), stall_s=seconds)

    @classmethod
    def chat(cls, content: str, prompt_tokens: int = 120, completion_tokens: int = 80) -> "Reply":
        """A successful chat completion whose assistant message is `content`, with usage tokens."""
        body = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return cls(body=body)

    @classmethod
    def proposal(cls, name: str, code: str, thought: str = "A scripted idea.", **tokens: int) -> "Reply":
        """A chat completion whose content is the bare JSON proposal."""
        return cls.chat(json.dumps({"thought": thought, "name": name, "code": code}), **tokens)

    @classmethod
    def status(cls, code: int, message: str | None = None, retry_after_ms: int | None = 20) -> "Reply":
        """An HTTP error in OpenAI's error format; a short `retry-after-ms` keeps client retries fast."""
        headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
        body = {"error": {"message": message or f"scripted HTTP {code}", "type": "fake_error", "code": None}}
        return cls(status_code=code, body=body, headers=headers)

    @classmethod
    def delay(cls, seconds: float, then: "Reply | None" = None) -> "Reply":
        """Wait `seconds` before answering `then` (by default HTTP 504): longer than a client timeout,
        it reads as a timeout; shorter, as a slow server."""
        return replace(then or cls.status(504, "scripted gateway timeout"), delay_s=seconds)


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def response_format(self) -> str | None:
        """The `type` of the structured output asked for, if any."""
        return (self.body.get("response_format") or {}).get("type")


class FakeOpenAI:
    """The server; use it as a context manager. `base_url` ends in `/v1` like OpenAI's."""

    def __init__(self, replies: Iterable[Reply] = (), reject_response_format: Collection[str] = ()) -> None:
        self._script = list(replies)
        self._reject = frozenset(reject_response_format)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def remaining(self) -> int:
        """Scripted replies not consumed yet."""
        with self._lock:
            return len(self._script)

    def add(self, *replies: Reply) -> None:
        """Append replies to the script while the server runs."""
        with self._lock:
            self._script.extend(replies)

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()  # wakes delayed replies so shutdown does not wait for them
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if request.response_format in self._reject:
                message = f"response_format {request.response_format} is not supported"
                return Reply.status(400, message, retry_after_ms=None)
            if not self._script:
                return Reply.status(500, "fake server: script exhausted", retry_after_ms=None)
            return self._script.pop(0)


def _handler_for(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                body = {"unparsed": raw.decode(errors="replace")}
            recorded = RecordedRequest(path=self.path, headers=dict(self.headers.items()), body=body)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                reply = Reply.status(404, f"fake server: no route {self.path}", retry_after_ms=None)
            else:
                reply = server._answer(recorded)
            if reply.delay_s and server._stopping.wait(reply.delay_s):
                return
            payload = reply.payload
            try:
                self.send_response(reply.status_code)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload) + reply.missing_bytes))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.flush()
                if reply.stall_s and server._stopping.wait(reply.stall_s):
                    return
                if not reply.byte_every_s:
                    self.wfile.write(payload)
                for index in range(len(payload) if reply.byte_every_s else 0):
                    self.wfile.write(payload[index : index + 1])
                    if server._stopping.wait(reply.byte_every_s):
                        return
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up and hung up: exactly what a delay, stall or trickle is for
            if reply.missing_bytes:
                self.close_connection = True  # the rest of the promised body never comes

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: tests read `requests` instead of a log."""

    return Handler


def dead_endpoint() -> str:
    """A loopback base URL where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
