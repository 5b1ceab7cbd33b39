"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for tests and benchmarks.

In-process: ``with LLMServer(script=[...]) as server: server.url`` (or the ``llm_server`` fixture
in tests/judge/conftest.py). As a process, for benchmarks whose client must not share this GIL:
``python -m tests.llm_server --port 0 --latency 0.2 --faults rate_429=0.1,seed=1`` prints its
base URL as the first stdout line and stops on SIGTERM/SIGINT.

What litellm sends (captured here: litellm 1.106.2, instructor 1.17.0, openai 2.54.0):
- instructor TOOLS: ``tools`` + ``tool_choice={"type":"function","function":{"name":M}}``; we
  answer in ``message.tool_calls[0].function.arguments``. JSON_SCHEMA: ``response_format=
  {"type":"json_schema","json_schema":{"name":M,"schema":...}}``. JSON: ``{"type":"json_object"}``
  with the schema in a system message. MD_JSON: no response_format, schema in a system message.
  ``response_format={"type":"json_object","schema":...}`` (llama.cpp style) arrives unchanged.
- litellm strips ``openai/``: the body's ``model`` is ``test-judge``.

Failures as the engine sees them (each checked in tests/test_llm_server.py or by hand):
- 429 -> ``litellm.RateLimitError``. Retry-After: ``exc.litellm_response_headers["retry-after"]``
  (httpx.Headers). Before litellm 1.110 ``exc.response`` was a synthetic httpx.Response with
  empty headers; 1.110.2 keeps the real ones there. judge reads either (providers/call.py).
- 500 -> ``InternalServerError``; 502 -> ``BadGatewayError``; 503 -> ``ServiceUnavailableError``
  (not an InternalServerError subclass); 400/422 -> ``BadRequestError``; 401 ->
  ``AuthenticationError``; 404 -> ``NotFoundError``; 408/504 and client timeout -> ``Timeout``
  (an openai.APITimeoutError, NOT a litellm.APIConnectionError); connection refused ->
  ``InternalServerError`` with status_code 500 and message "...Connection error.". All have
  ``status_code`` and subclass ``openai.APIError``.
- Internal retries: by default one litellm.acompletion makes 3 requests on 429/5xx/timeouts (the
  openai SDK's 2 retries). ``num_retries=0`` brings that to 1 request (it is forwarded to the SDK
  as max_retries); so does ``max_retries=0`` on plain litellm. Through instructor,
  ``max_retries`` is instructor's reask count and is NOT forwarded: pass ``num_retries=0``.
- instructor (``from instructor.core import ...``) never retries API errors: it raises
  ``InstructorRetryException`` at once with ``__cause__`` = the litellm exception,
  ``n_attempts=1``, ``total_usage`` all zeros. Invalid/malformed JSON is reasked ``max_retries``
  times (each reask adds the bad reply and the error as messages); then InstructorRetryException
  with ``__cause__`` = pydantic ``ValidationError``, ``n_attempts = max_retries + 1``,
  ``total_usage`` = openai ``CompletionUsage`` summed over attempts, ``failed_attempts`` (one per
  attempt), ``last_completion``. finish_reason "length" raises ``IncompleteOutputException``
  unwrapped and without reask. Both subclass ``instructor.core.InstructorError``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import random
import signal
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Json = dict[str, Any]
Script = Sequence["Reply"] | Callable[[Json, int], "Reply"] | None


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build with the classmethods, not the constructor."""

    kind: str  # auto | json | text | error | hang | truncated
    obj: Any = None
    content: str = ""
    status: int = 200
    # Seconds, or a header value as given (an HTTP date, say).
    retry_after: float | str | None = None
    body: Json | None = None
    latency: float = 0.0
    # The reply's `model` and `system_fingerprint` (None: the server's; see LLMServer).
    model: str | None = None
    fingerprint: str | None = None

    @classmethod
    def auto(
        cls, latency: float = 0.0, *, model: str | None = None, fingerprint: str | None = None
    ) -> Reply:
        return cls("auto", latency=latency, model=model, fingerprint=fingerprint)

    @classmethod
    def json(
        cls,
        obj: Any,
        latency: float = 0.0,
        *,
        model: str | None = None,
        fingerprint: str | None = None,
    ) -> Reply:
        return cls("json", obj=obj, latency=latency, model=model, fingerprint=fingerprint)

    @classmethod
    def text(cls, content: str, latency: float = 0.0) -> Reply:
        """Raw text: in message.content, or in the tool call's arguments if tools were sent."""
        return cls("text", content=content, latency=latency)

    @classmethod
    def error(
        cls,
        status: int,
        retry_after: float | str | None = None,
        body: Json | None = None,
        latency: float = 0.0,
    ) -> Reply:
        return cls("error", status=status, retry_after=retry_after, body=body, latency=latency)

    @classmethod
    def hang(cls, seconds: float = 3600.0) -> Reply:
        # After `seconds` it answers like auto(); a shutdown ends the wait at once.
        return cls("hang", latency=seconds)

    @classmethod
    def truncated(cls, obj: Any = None) -> Reply:
        return cls("truncated", obj=obj)


@dataclass(frozen=True)
class Faults:
    """Random failures drawn before the script: per (seed, messages hash, attempt for that
    hash), so each item's k-th attempt meets the same fault whatever the arrival order."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_malformed: float = 0.0
    rate_timeout: float = 0.0
    retry_after: float | None = None
    seed: int = 0
    hang_seconds: float = 3600.0

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """`rate_429=0.1,rate_500=0.05,seed=1` (the process's --faults)."""
        kv = dict(part.split("=", 1) for part in spec.split(",") if part)
        values: dict[str, Any] = {k: int(v) if k == "seed" else float(v) for k, v in kv.items()}
        return cls(**values)

    def draw(self, key: str, attempt: int) -> Reply | None:
        u = random.Random(f"{self.seed}|{key}|{attempt}").random()
        for rate, reply in (
            (self.rate_429, Reply.error(429, retry_after=self.retry_after)),
            (self.rate_500, Reply.error(500)),
            (self.rate_malformed, Reply.text('{"malformed": ')),
            (self.rate_timeout, Reply.hang(self.hang_seconds)),
        ):
            if u < rate:
                return reply
            u -= rate
        return None


@dataclass
class Seen:
    """One received request. `authorized` says a header was sent; its value is never kept."""

    body: Json
    path: str
    arrived: float
    authorized: bool
    kind: str = ""
    status: int | None = None  # None while still in flight


# ---------------------------------------------------------------- schema -> value


def messages_key(body: Json) -> str:
    raw = json.dumps(body.get("messages", []), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class _Sampler:
    """Deterministic valid instance of a JSON schema; choices hash (seed, messages, path)."""

    def __init__(self, root: Json, salt: str) -> None:
        self.root, self.salt = root, salt

    def pick(self, path: str, n: int) -> int:
        digest = hashlib.sha256(f"{self.salt}|{path}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % max(n, 1)

    def resolve(self, s: Json) -> Json:
        while "$ref" in s:
            node: Any = self.root
            for part in s["$ref"].lstrip("#/").split("/"):
                node = node[part]
            s = {**node, **{k: v for k, v in s.items() if k != "$ref"}}
        return s

    def value(self, s: Json, path: str = "$", depth: int = 0) -> Any:
        s = self.resolve(s)
        if depth > 16:  # a recursive schema: stop somewhere
            return None
        if "const" in s:
            return s["const"]
        if "enum" in s:
            return s["enum"][self.pick(path, len(s["enum"]))]
        if "allOf" in s:
            merged = {k: v for k, v in s.items() if k != "allOf"}
            for branch in s["allOf"]:
                merged.update(self.resolve(branch))
            return self.value(merged, path, depth)
        for key in ("anyOf", "oneOf"):
            if key in s:
                branches = [b for b in s[key] if self.resolve(b).get("type") != "null"]
                return self.value((branches or s[key])[0], path, depth)
        kind = s.get("type", "object" if "properties" in s else "string")
        if isinstance(kind, list):
            kind = next((t for t in kind if t != "null"), "null")
        return getattr(self, f"_{kind}", lambda *_: None)(s, path, depth)

    def _object(self, s: Json, path: str, depth: int) -> Json:
        props = s.get("properties", {})
        return {k: self.value(v, f"{path}.{k}", depth + 1) for k, v in props.items()}

    def _array(self, s: Json, path: str, depth: int) -> list[Any]:
        n = min(max(s.get("minItems", 1), 1), s.get("maxItems", 1 << 30))
        items = s.get("items", {})
        return [self.value(items, f"{path}[{i}]", depth + 1) for i in range(n)]

    def _bounds(self, s: Json, step: float) -> tuple[float, float]:
        lo = s.get("minimum", s["exclusiveMinimum"] + step if "exclusiveMinimum" in s else None)
        hi = s.get("maximum", s["exclusiveMaximum"] - step if "exclusiveMaximum" in s else None)
        if lo is None:
            lo = 0 if hi is None or hi >= 0 else hi - 10
        return lo, lo + 10 if hi is None else hi

    def _integer(self, s: Json, path: str, depth: int) -> int:
        lo, hi = self._bounds(s, 1)
        lo, hi = math.ceil(lo), math.floor(hi)
        return lo + self.pick(path, hi - lo + 1)

    def _number(self, s: Json, path: str, depth: int) -> float:
        lo, hi = self._bounds(s, 0.001)
        return round(lo + (hi - lo) * self.pick(path, 1001) / 1000, 3)

    def _string(self, s: Json, path: str, depth: int) -> str:
        text = "auto rationale"
        text = text.ljust(s.get("minLength", 0), "x")
        return text[: s.get("maxLength", len(text))]

    def _boolean(self, s: Json, path: str, depth: int) -> bool:
        return self.pick(path, 2) == 0


def schema_in_text(text: str) -> Json | None:
    """The first JSON object schema in a prompt, e.g. the one instructor's JSON modes embed."""
    decoder = json.JSONDecoder()
    start = text.find("{", max(text.find("json_schema"), 0))
    tries = 0
    while start != -1 and tries < 50:
        tries += 1
        with contextlib.suppress(ValueError):
            obj, _ = decoder.raw_decode(text, start)
            if isinstance(obj, dict) and ("properties" in obj or obj.get("type") == "object"):
                return obj
        start = text.find("{", start + 1)
    return None


def find_schema(body: Json) -> tuple[Json | None, str | None]:
    """(schema, forced tool name or None) from a request, in the order litellm sends them."""
    tools = body.get("tools") or []
    if tools:
        choice = body.get("tool_choice")
        name = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
        tool = next((t for t in tools if t["function"]["name"] == name), tools[0])["function"]
        return tool.get("parameters", {}), tool["name"]
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt.get("json_schema", {}).get("schema"), None
    if fmt.get("schema"):
        return fmt["schema"], None
    for msg in body.get("messages", []):
        content = msg.get("content")
        parts = (
            [content]
            if isinstance(content, str)
            else [p.get("text", "") for p in content or [] if isinstance(p, dict)]
        )
        for text in parts:
            if found := schema_in_text(text):
                return found, None
    return None, None


# ---------------------------------------------------------------- responses


def _completion(
    body: Json, text: str, tool: str | None, finish: str, served: tuple[str | None, str | None]
) -> Json:
    message: Json = {"role": "assistant", "content": text}
    if tool is not None:
        call = {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": tool, "arguments": text},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls" if finish == "stop" else finish
    prompt = max(1, len(json.dumps(body.get("messages", []))) // 4)
    completion = max(1, len(text) // 4)
    model, fingerprint = served
    found: Json = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model or body.get("model", "test-judge"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    if fingerprint is not None:  # as OpenAI: present where the provider gives one
        found["system_fingerprint"] = fingerprint
    return found


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
}


def _error(reply: Reply) -> web.Response:
    kind = _ERROR_TYPES.get(reply.status, "server_error")
    body = reply.body or {
        "error": {"message": f"scripted {reply.status}", "type": kind, "param": None, "code": kind}
    }
    after = reply.retry_after
    headers = (
        {} if after is None else {"Retry-After": after if isinstance(after, str) else f"{after:g}"}
    )
    return web.json_response(body, status=reply.status, headers=headers)


# ---------------------------------------------------------------- files and batches


@dataclass
class StoredFile:
    """A file uploaded to /v1/files (or a batch's output file)."""

    id: str
    name: str
    purpose: str
    data: bytes
    created_at: int

    def object(self) -> Json:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.name,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass
class BatchScript:
    """How the server's batches behave (set the fields of `server.batch`).

    A batch is `validating` when created, `in_progress` until it has been retrieved `polls`
    times, then ends as `outcome`: completed, failed (validation errors, no output), expired
    (the lines answered so far), cancelled, or in_progress (never ends). `lines(body,
    custom_id)` answers each line like a chat request (None: auto): an error Reply puts it in
    the error file with its status, a hang() Reply leaves it out of both files.
    """

    polls: int = 1
    outcome: str = "completed"
    lines: Callable[[Json, str], Reply | None] | None = None
    # Seconds POST /v1/batches takes before it creates the batch and answers.
    create_delay: float = 0.0

    def reply(self, body: Json, custom_id: str) -> Reply:
        found = self.lines(body, custom_id) if self.lines else None
        return found or Reply.auto()


def _public(batch: Json) -> Json:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


# ---------------------------------------------------------------- server


class LLMServer:
    """OpenAI-compatible server; `with LLMServer(...) as s:` runs it on a background loop.

    script: list of Replies consumed in order (then Reply.auto()), or `(body, n) -> Reply` with n
    the 0-based request index. Every reply waits latency + uniform(0, jitter) seconds first.
    seed varies auto() choices; script, faults and latency may be changed while it runs.
    """

    def __init__(
        self,
        script: Script = None,
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        faults: Faults | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.script, self.latency, self.jitter = script, latency, jitter
        # What every reply says served it (a script's Reply can override either): the model
        # (None: the body's `model` echoed) and the system fingerprint (None: not sent).
        self.served_model: str | None = None
        self.system_fingerprint: str | None = None
        self.faults, self.seed, self.host, self.port = faults, seed, host, port
        self.requests: list[Seen] = []
        self.in_flight = self.peak_in_flight = 0
        self._attempts: defaultdict[str, int] = defaultdict(int)
        self._jitter_rng = random.Random(seed)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        # The OpenAI Files and Batch APIs (see "files and batches" below).
        self.batch = BatchScript()
        self.batch_requests: list[Seen] = []
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, Json] = {}

    @property
    def script(self) -> Script:
        return self._script

    @script.setter
    def script(self, value: Script) -> None:
        # A list is copied into a queue so replies are consumed without touching the caller's.
        self._script = deque(value) if isinstance(value, Sequence) else value

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def count(self) -> int:
        return len(self.requests)

    def reset(self) -> None:
        self.requests.clear()
        self._attempts.clear()
        self.peak_in_flight = self.in_flight

    # ---- request handling (runs on the server loop; never blocks)

    def _choose(self, body: Json, n: int) -> Reply:
        key = messages_key(body)
        attempt = self._attempts[key]
        self._attempts[key] += 1
        if self.faults and (fault := self.faults.draw(key, attempt)):
            return fault
        if callable(self._script):
            return self._script(body, n)
        if self._script:
            return self._script.popleft()
        return Reply.auto()

    async def _wait(self, seconds: float) -> None:
        if seconds > 0 and self._stop is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(Reply.error(400))
        seen = Seen(body, request.path, time.time(), "Authorization" in request.headers)
        self.requests.append(seen)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            reply = self._choose(body, len(self.requests) - 1)
            seen.kind = reply.kind
            delay = self.latency + reply.latency + self._jitter_rng.uniform(0, self.jitter)
            await self._wait(delay)  # a hang answers like auto() once it ends or on stop()
            response = self._respond(body, reply)
            seen.status = response.status
            return response
        finally:
            self.in_flight -= 1

    def _respond(self, body: Json, reply: Reply) -> web.Response:
        if reply.kind == "error":
            return _error(reply)
        schema, tool = find_schema(body)
        if reply.kind == "text":
            text = reply.content
        elif reply.kind in ("json", "truncated") and reply.obj is not None:
            text = json.dumps(reply.obj)
        elif schema is not None:
            text = json.dumps(_Sampler(schema, f"{self.seed}|{messages_key(body)}").value(schema))
        else:  # a plain chat request: any text will do, unless JSON was asked for
            text = "{}" if body.get("response_format") else "auto reply"
        served = (
            reply.model or self.served_model,
            reply.fingerprint or self.system_fingerprint,
        )
        if reply.kind == "truncated":
            cut = text[: len(text) // 2]
            return web.json_response(_completion(body, cut, tool, "length", served))
        return web.json_response(_completion(body, text, tool, "stop", served))

    async def _models(self, request: web.Request) -> web.Response:
        model = {"id": "test-judge", "object": "model", "created": 0, "owned_by": "tests"}
        return web.json_response({"object": "list", "data": [model]})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    # ---- files and batches: OpenAI's Files and Batch APIs, as litellm's openai provider calls them

    def _add_batch_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self._file_upload)
        app.router.add_get("/v1/files/{id}", self._file_get)
        app.router.add_get("/v1/files/{id}/content", self._file_content)
        app.router.add_post("/v1/batches", self._batch_create)
        app.router.add_get("/v1/batches", self._batch_list)
        app.router.add_get("/v1/batches/{id}", self._batch_get)
        app.router.add_post("/v1/batches/{id}/cancel", self._batch_cancel)

    def _seen_batch(self, request: web.Request, body: Json) -> None:
        authorized = "Authorization" in request.headers
        seen = Seen(body, request.path, time.time(), authorized, kind=request.method)
        self.batch_requests.append(seen)

    def batch_calls(self, method: str, path: str) -> int:
        """How many files/batches requests matched `method` (GET/POST) and `path` (a suffix
        such as "/files" or "/batches")."""
        return sum(1 for r in self.batch_requests if r.kind == method and r.path.endswith(path))

    def _store(self, name: str, data: bytes, purpose: str) -> StoredFile:
        stored = StoredFile(f"file-{uuid.uuid4().hex[:24]}", name, purpose, data, int(time.time()))
        self.files[stored.id] = stored
        return stored

    async def _file_upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload, purpose = form.get("file"), str(form.get("purpose", ""))
        if not isinstance(upload, web.FileField) or not purpose:
            return _error(Reply.error(400))
        stored = self._store(upload.filename or "upload.jsonl", upload.file.read(), purpose)
        self._seen_batch(request, {"purpose": purpose, "filename": stored.name})
        return web.json_response(stored.object())

    async def _file_get(self, request: web.Request) -> web.Response:
        stored = self.files.get(request.match_info["id"])
        self._seen_batch(request, {})
        return web.json_response(stored.object()) if stored else _error(Reply.error(404))

    async def _file_content(self, request: web.Request) -> web.Response:
        stored = self.files.get(request.match_info["id"])
        self._seen_batch(request, {})
        if stored is None:
            return _error(Reply.error(404))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _batch_create(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(Reply.error(400))
        self._seen_batch(request, body)
        await self._wait(self.batch.create_delay)
        stored = self.files.get(body.get("input_file_id", ""))
        if stored is None or body.get("endpoint") != "/v1/chat/completions":
            return _error(Reply.error(400))
        lines = [json.loads(line) for line in stored.data.decode().splitlines() if line.strip()]
        now = int(time.time())
        batch: Json = {
            "id": f"batch_{uuid.uuid4().hex[:24]}",
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": stored.id,
            "completion_window": body.get("completion_window", "24h"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "expires_at": now + 86400,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
            "_polls": 0,
            "_order": len(self.batches),
        }
        self.batches[batch["id"]] = batch
        return web.json_response(_public(batch))

    async def _batch_get(self, request: web.Request) -> web.Response:
        batch = self.batches.get(request.match_info["id"])
        self._seen_batch(request, {})
        if batch is None:
            return _error(Reply.error(404))
        batch["_polls"] += 1
        if batch["status"] in ("validating", "in_progress"):
            if batch["_polls"] >= self.batch.polls and self.batch.outcome != "in_progress":
                self._finish(batch, self.batch.outcome)
            else:
                batch["status"], batch["in_progress_at"] = "in_progress", int(time.time())
        return web.json_response(_public(batch))

    async def _batch_list(self, request: web.Request) -> web.Response:
        """The most recent batches first, as OpenAI lists them (`limit`, no paging)."""
        self._seen_batch(request, dict(request.query))
        limit = int(request.query.get("limit", "20"))
        newest = sorted(self.batches.values(), key=lambda b: -b["_order"])[:limit]
        data = [_public(b) for b in newest]
        return web.json_response({"object": "list", "data": data, "has_more": False})

    async def _batch_cancel(self, request: web.Request) -> web.Response:
        batch = self.batches.get(request.match_info["id"])
        self._seen_batch(request, {})
        if batch is None:
            return _error(Reply.error(404))
        if batch["status"] in ("validating", "in_progress"):
            self._finish(batch, "cancelled")
        return web.json_response(_public(batch))

    def _finish(self, batch: Json, outcome: str) -> None:
        """Run the batch's lines (unless it failed validation) and write its output files."""
        now = int(time.time())
        batch["status"], batch[f"{outcome}_at"] = outcome, now
        if outcome == "failed":
            error = {"code": "invalid_request", "message": "scripted batch failure", "line": 1}
            batch["errors"] = {"object": "list", "data": [error]}
            return
        outputs, errors = [], []
        for line in self.files[batch["input_file_id"]].data.decode().splitlines():
            if not line.strip():
                continue
            request = json.loads(line)
            reply = self.batch.reply(request["body"], request["custom_id"])
            if reply.kind == "hang" or outcome == "cancelled":
                continue  # never reached: in neither file (as in an expired or cancelled batch)
            response = self._respond(request["body"], reply)
            assert isinstance(response.body, bytes)
            row = {
                "id": f"batch_req_{uuid.uuid4().hex[:16]}",
                "custom_id": request["custom_id"],
                "response": {
                    "status_code": response.status,
                    "request_id": uuid.uuid4().hex,
                    "body": json.loads(response.body),
                },
                "error": None,
            }
            (outputs if response.status == 200 else errors).append(row)
        counts = batch["request_counts"]
        counts["completed"], counts["failed"] = len(outputs), len(errors)
        for rows, field in ((outputs, "output_file_id"), (errors, "error_file_id")):
            if rows:
                text = "".join(json.dumps(row) + "\n" for row in rows)
                name = f"{batch['id']}_{field}.jsonl"
                batch[field] = self._store(name, text.encode(), "batch_output").id

    # ---- lifecycle

    async def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until stop(); the port becomes known before on_ready is called."""
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        app = web.Application(client_max_size=64 << 20)
        for path in ("/v1/chat/completions", "/chat/completions"):
            app.router.add_post(path, self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        self._add_batch_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = runner.addresses[0][1]
        if on_ready:
            on_ready()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        """Ask the server to stop; safe from any thread, and more than once."""
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to stop
                self._loop.call_soon_threadsafe(self._stop.set)

    def _run(self) -> None:
        try:
            asyncio.run(self.serve(self._ready.set))
        except BaseException as exc:  # reported to the thread that waits in __enter__
            self._error = exc
        finally:
            self._ready.set()

    def __enter__(self) -> LLMServer:
        self._error = None
        self._thread = threading.Thread(target=self._run, name="llm-server", daemon=True)
        self._thread.start()
        self._ready.wait(120)  # a loaded machine
        if self._error is not None or self._stop is None:
            raise RuntimeError("llm server did not start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(60)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faults", default="", help="e.g. rate_429=0.1,retry_after=0.05,seed=1")
    args = parser.parse_args(argv)
    try:
        faults = Faults.parse(args.faults) if args.faults else None
    except (TypeError, ValueError) as exc:
        parser.error(f"--faults: {exc}")
    server = LLMServer(
        latency=args.latency,
        jitter=args.jitter,
        seed=args.seed,
        faults=faults,
        host=args.host,
        port=args.port,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.stop)
        await server.serve(lambda: print(server.url, flush=True))

    asyncio.run(run())


if __name__ == "__main__":
    main()
