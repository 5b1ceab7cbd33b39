"""The scoring service as a FastAPI app: the same Scorer as `judge score`, over HTTP.

One Scorer is opened for the app's lifetime (its lifespan), so every request shares one
engine: one bounded pool of judge calls, one cache, and identical calls in flight made once.
Only the rubrics loaded at start are served: a request names a rubric by id and can never
make the server read a file.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from judge.contracts import ResultRecord, Rubric
from judge.errors import ConfigError, InputError, JudgeError, RubricError, redact
from judge.judging.engine import CompleteFn
from judge.judging.providers.sdk import litellm_module
from judge.load.cases import cases_or_none
from judge.load.inputs import make_item
from judge.load.keys import keys_or_none
from judge.load.rubric import builtin_rubrics, load_rubric
from judge.options import RunOptions
from judge.scorer import Scorer
from judge.serve import promptfoo
from judge.serve.middleware import AllowedHosts, BearerAuth, BodyLimit, Guard, check_token
from judge.serve.models import (
    BatchItem,
    BatchRequest,
    ErrorLine,
    Health,
    PromptfooRequest,
    PromptfooResult,
    RubricSummary,
    ScoreRequest,
)
from judge.version import __version__

__all__ = ["DEFAULT_MAX_BODY", "create_app", "load_rubrics"]

DEFAULT_MAX_BODY = 1 << 20
NDJSON = "application/x-ndjson"

log = logging.getLogger("judge.serve")
router = APIRouter()


def create_app(
    options: RunOptions,
    complete: CompleteFn | None = None,
    *,
    rubrics: Sequence[str | Path] = (),
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    hosts: set[str] | None = None,
) -> FastAPI:
    """The service: built-in rubrics plus the YAML files in `rubrics`, judged as `options`
    say (`complete` replaces litellm, as in `judge.score`). With `token`, every request but
    `/healthz` needs `Authorization: Bearer <token>`; bodies over `max_body` bytes get 413.
    An option of a file run only (`max_cost`, `batch`, …) is refused, as is a blank token.
    With `hosts` (judge.hosts.allowed_hosts), a request with another Host header gets 403."""
    options.check_use("serve")
    cases_or_none(options.cases, options.id_field)  # a bad one stops the start, not a request
    keys_or_none(options.keys)  # as does a bad keys file
    if token is not None:
        check_token(token)
    served = load_rubrics(rubrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Every request's items run through the scorer's one bounded scheduler; it cancels
        # the items of clients that left, still judging at shutdown, when the scorer closes.
        async with Scorer(options, complete, use="serve") as scorer:
            if complete is None and scorer.judges:
                # litellm takes seconds to import: here, before the server says it listens,
                # rather than in the first request's time (a client's timeout may not wait).
                litellm_module()
            for notice in scorer.notices:
                log.warning("%s", redact(notice))
            app.state.scorer = scorer
            yield

    app = FastAPI(
        title="judge",
        version=__version__,
        summary="Rubric scoring of medical reasoning by LLM judges: the engine of `judge score`.",
        lifespan=lifespan,
    )
    app.state.rubrics = served
    app.include_router(router)
    _document_rubric_ids(app, sorted(served))
    _install_error_handlers(app)
    # The last added is the outermost: the guard sees everything, auth runs before a body
    # is read, and the body limit before the app parses anything.
    app.add_middleware(BodyLimit, max_body=max_body)
    if token:
        app.add_middleware(BearerAuth, token=token, open_paths=frozenset({"/healthz"}))
    if hosts is not None:
        app.add_middleware(AllowedHosts, hosts=hosts)
    app.add_middleware(Guard)
    return app


def load_rubrics(extra: Sequence[str | Path] = ()) -> dict[str, Rubric]:
    """The built-in rubrics and the given YAML files, by id; two files with one id are an
    error rather than one silently hiding the other."""
    served = {rid: load_rubric(path) for rid, path in builtin_rubrics().items()}
    for path in extra:
        rubric = load_rubric(Path(path))
        if rubric.id in served:
            raise ConfigError(f"{path}: rubric id {rubric.id!r} is already served")
        served[rubric.id] = rubric
    return served


def _document_rubric_ids(app: FastAPI, ids: list[str]) -> None:
    """List the served rubric ids in the OpenAPI schema, where a rubric is named: clients
    (and schemathesis) see the valid values; any other id is still answered with 404."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for name in ("ScoreRequest", "BatchRequest"):
                schema["components"]["schemas"][name]["properties"]["rubric"]["enum"] = ids
            for item in schema["paths"].values():
                for operation in item.values():
                    for parameter in operation.get("parameters", []):
                        if parameter["name"] == "rubric_id":
                            parameter["schema"]["enum"] = ids
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# --------------------------------------------------------------------------- dependencies


def _scorer(request: Request) -> Scorer:
    scorer: Scorer = request.app.state.scorer
    return scorer


ScorerDep = Annotated[Scorer, Depends(_scorer)]


def _served(request: Request, rubric_id: str) -> Rubric:
    rubrics: dict[str, Rubric] = request.app.state.rubrics
    if rubric_id not in rubrics:
        known = ", ".join(sorted(rubrics))
        raise RubricError(rubric_id, None, f"unknown rubric (served: {known})")
    return rubrics[rubric_id]


# --------------------------------------------------------------------------- routes


@router.get("/healthz", response_model=Health)
async def healthz(scorer: ScorerDep) -> Health:
    """Liveness, the package version and the judges in use (no token needed)."""
    return Health(status="ok", version=__version__, judges=scorer.judge_names)


@router.get("/v1/rubrics", response_model=list[RubricSummary])
async def list_rubrics(request: Request) -> list[RubricSummary]:
    """The served rubrics."""
    rubrics: dict[str, Rubric] = request.app.state.rubrics
    return [
        RubricSummary(
            id=r.id,
            version=r.version,
            description=r.description,
            target=r.target,
            criteria=[c.id for c in r.criteria],
        )
        for r in rubrics.values()
    ]


@router.get("/v1/rubrics/{rubric_id}", response_model=Rubric)
async def show_rubric(request: Request, rubric_id: str) -> Rubric:
    """One rubric in full: criteria, scales, anchors, weights."""
    return _served(request, rubric_id)


@router.post("/v1/score", response_model=ResultRecord)
async def score_one(body: ScoreRequest, request: Request, scorer: ScorerDep) -> ResultRecord:
    """Score one prediction: the record `judge score` writes for it (its `line` is 1)."""
    rubric = _served(request, body.rubric)
    try:
        return await scorer.score(body.prediction, rubric, item_id=body.id)
    except InputError as exc:
        raise _Unprocessable(("body", "prediction"), exc) from exc


@router.post(
    "/v1/score/batch",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One JSON line per item as it finishes: a result record (its "
            "`line` is the item's index + 1) or an error line.",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        }
    },
)
async def score_batch(body: BatchRequest, request: Request, scorer: ScorerDep) -> StreamingResponse:
    """Score many predictions against one rubric, streamed back as each finishes."""
    rubric = _served(request, body.rubric)
    return StreamingResponse(_stream(scorer, rubric, body.items), media_type=NDJSON)


@router.post("/v1/promptfoo/{rubric_id}", response_model=PromptfooResult)
async def promptfoo_webhook(
    rubric_id: str,
    body: PromptfooRequest,
    request: Request,
    scorer: ScorerDep,
    threshold: Annotated[
        float | None,
        Query(ge=0, le=1, description="Pass mark in [0, 1]; default vars.threshold, else 0.5."),
    ] = None,
    field: Annotated[
        str | None, Query(description="The rubric target the output fills; default its first.")
    ] = None,
) -> PromptfooResult:
    """promptfoo's `webhook` assertion: the output judged against the test's vars (the case),
    answered as pass/score/reason."""
    rubric = _served(request, rubric_id)
    variables = body.context.vars
    try:
        pass_mark = promptfoo.threshold_from(threshold, variables)
        row = promptfoo.prediction_from(body.output, variables, rubric, field)
    except InputError as exc:
        where = ("query",) if exc.field == "field" else ("body", "context", "vars")
        raise _Unprocessable(where, exc) from exc
    item_id = str(variables.get(scorer.options.id_field) or f"promptfoo:{rubric.id}")
    try:
        record = await scorer.score(row, rubric, item_id=item_id)
    except InputError as exc:
        raise _Unprocessable(("body", "context", "vars"), exc) from exc
    verdict = promptfoo.grade(record, rubric, pass_mark)
    return PromptfooResult.model_validate(
        {"pass": verdict.passed, "score": verdict.score, "reason": verdict.reason}
    )


# --------------------------------------------------------------------------- batch stream


async def _stream(scorer: Scorer, rubric: Rubric, items: list[BatchItem]) -> AsyncIterator[bytes]:
    async def one(numbered: tuple[int, BatchItem]) -> bytes:
        return await _one(scorer, rubric, *numbered)

    # A client that leaves does not cancel its items in flight (detach): an identical call
    # from another request may be waiting on one of them, and their verdicts land in the
    # cache for a retry. Its items not yet started are not started.
    lines = scorer.scheduler.stream(enumerate(items), one, detach=True)
    async with contextlib.aclosing(lines):
        async for line in lines:
            yield line


async def _one(scorer: Scorer, rubric: Rubric, index: int, item: BatchItem) -> bytes:
    """One batch line (run in a scheduler slot); never raises, so one item cannot end the
    stream of the others."""
    try:
        found = make_item(
            item.prediction,
            scorer.options.id_field,
            item_id=item.id,
            cases=scorer.cases,
            images=scorer.images,
            fmt=scorer.options.format,
            rubric=rubric,
        )
        record = await scorer.score_item(found, rubric)
    except InputError as exc:
        field = f"prediction.{exc.field}" if exc.field else None
        return _error_line(index, field, exc.message)
    except JudgeError as exc:
        return _error_line(index, None, str(exc))
    except Exception:
        # Deliberately broad: the stream's last-resort handler for one item. A bug here is
        # logged with its traceback (keys redacted) and that item's line says "internal
        # error"; the stream's other items, possibly paid for already, still arrive.
        log.error("batch item %d failed: %s", index, redact(traceback.format_exc()))
        return _error_line(index, None, "internal error")
    return record.model_copy(update={"line": index + 1}).model_dump_json().encode() + b"\n"


def _error_line(index: int, field: str | None, message: str) -> bytes:
    line = ErrorLine(index=index, line=index + 1, field=field, error=redact(message))
    return line.model_dump_json().encode() + b"\n"


# --------------------------------------------------------------------------- errors


class _Unprocessable(Exception):
    """An InputError found inside a request, with where in the request it points."""

    def __init__(self, where: tuple[str, ...], error: InputError):
        super().__init__(error.message)
        self.loc = [*where, *(error.field.split(".") if error.field else [])]
        self.message = error.message


def _validation(loc: list[Any], message: str) -> JSONResponse:
    # The shape of FastAPI's own 422s, so a client reads every field problem one way.
    detail = [{"loc": loc, "msg": redact(message), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


def _install_error_handlers(app: FastAPI) -> None:
    async def unprocessable(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, _Unprocessable)
        return _validation(exc.loc, exc.message)

    async def unknown_rubric(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RubricError)
        known = sorted(request.app.state.rubrics)
        body = {"detail": f"unknown rubric {exc.path!r}", "known": known}
        return JSONResponse(body, status_code=404)

    async def bad_input(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InputError)
        return _validation(["body", *(exc.field.split(".") if exc.field else [])], exc.message)

    async def judge_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": redact(str(exc))}, status_code=400)

    app.add_exception_handler(_Unprocessable, unprocessable)
    app.add_exception_handler(RubricError, unknown_rubric)
    app.add_exception_handler(InputError, bad_input)
    app.add_exception_handler(JudgeError, judge_error)
