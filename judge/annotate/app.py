"""The annotation web app (FastAPI): server-rendered pages, one POST per item.

Routes, all under the rater's token:

- `GET  /r/<token>/`: the rater's items with their status, and where to continue.
- `GET  /r/<token>/items/<n>`: item n of the rater's queue, the form prefilled with their
  earlier answers (revising is rating again).
- `POST /r/<token>/items/<n>`: save every criterion and the comment in one transaction, then
  go to the next item (303, so a reload never posts twice).
- `GET  /r/<token>/items/<n>/images/<k>`: image k of item n of the rater's queue, the file
  its `image_NN_path` names under `--images` (judge.annotate.media: by number, never a path).
- `GET  /r/<token>/static/<file>`: the page's script and style sheet (CSP: 'self' only).

Raters are blinded: of a judged run's results the app reads only the steps its judges rated
(a staged rubric's segmentation, never a score), and a rater's pages show only their own
answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from judge.annotate.media import image_bytes, image_file
from judge.annotate.page import (
    FormError,
    case_view,
    criterion_views,
    prediction_view,
    read_scores,
)
from judge.annotate.security import (
    SECURITY_HEADERS,
    csrf_ok,
    rater_for_token,
    same_origin,
)
from judge.annotate.steps import read_step_answers, step_views
from judge.annotate.study import Study

__all__ = ["create_app", "guarded", "templates"]

_HERE = Path(__file__).parent
_STATIC = {"annotate.js": "text/javascript", "annotate.css": "text/css"}
_MAX_COMMENT = 5000
_MAX_BODY = 64_000


def templates() -> jinja2.Environment:
    """The app's page templates (the review of case keys shares them)."""
    # autoescape=True for every template: model output is untrusted HTML.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def create_app(study: Study, hosts: set[str] | None = None) -> FastAPI:
    """The app serving `study`. `hosts`: the Host headers accepted (None: any)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    env = templates()

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(rubric=study.rubric, **context)
        return HTMLResponse(html, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        response = await guarded(request, call_next, study, hosts, page)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/r/{token}/")
    def index(request: Request, token: str, saved: int | None = None) -> HTMLResponse:
        rater = request.state.rater
        rows = _status_rows(study, rater)
        todo = next((n for n, _, status in rows if status != "done"), None)
        finished = sum(status == "done" for _, _, status in rows)
        return page(
            "index.html", rater=rater, rows=rows, todo=todo, finished=finished, token=token,
            saved=saved,
        )  # fmt: skip

    @app.get("/r/{token}/items/{n}")
    def item_page(request: Request, token: str, n: int, saved: int | None = None) -> Response:
        rater = request.state.rater
        queue = study.queues[rater]
        if not 1 <= n <= len(queue):
            return page("error.html", 404, message="No such item in your queue.", token=token)
        item = study.items[queue[n - 1]]
        answer = study.store.answer(rater, item.id)
        rows = _status_rows(study, rater)
        return page(
            "item.html",
            rater=rater,
            token=token,
            n=n,
            total=len(queue),
            done=sum(status == "done" for _, _, status in rows),
            case=case_view(item, study.rubric, study.images),
            prediction=prediction_view(item, study.rubric),
            criteria=criterion_views(study.criteria, answer),
            steps=(
                step_views(study.plan, study.units[item.id], answer)
                if study.plan is not None
                else []
            ),
            comment=answer.comment,
            key=study.keys.key(item.id) if study.keys is not None else None,
            csrf=study.raters[rater].csrf,
            saved=saved,
        )

    @app.post("/r/{token}/items/{n}")
    async def submit(request: Request, token: str, n: int) -> Response:
        rater = request.state.rater
        queue = study.queues[rater]
        if not 1 <= n <= len(queue):
            return page("error.html", 404, message="No such item in your queue.", token=token)
        form = await request.form()
        if not csrf_ok(form.get("csrf"), study.raters[rater]):
            return page("error.html", 403, message="This form has expired.", token=token)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        comment = fields.get("comment", "").strip()[:_MAX_COMMENT]
        item_id = queue[n - 1]
        try:
            if study.plan is not None:
                # Every value of each field: a labels criterion's checkboxes share one name.
                multi = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
                steps = read_step_answers(study.plan, len(study.units[item_id]), multi)
            else:
                scores = read_scores(study.criteria, fields)
        except FormError as exc:
            return page("error.html", 400, message=str(exc), token=token)
        if study.plan is not None:
            await run_in_threadpool(study.store.save_steps, rater, item_id, steps, comment)
        else:
            await run_in_threadpool(study.store.save, rater, item_id, scores, comment)
        target = n - 1 if fields.get("go") == "previous" else n + 1
        if 1 <= target <= len(queue):
            return RedirectResponse(f"/r/{token}/items/{target}?saved={n}", status_code=303)
        return RedirectResponse(f"/r/{token}/?saved={n}", status_code=303)

    @app.get("/r/{token}/items/{n}/images/{index}")
    def image(request: Request, n: str, index: str) -> Response:
        # Numbers only: anything else (`..`, a path) is no image of ours, a 404 as any other.
        queue = study.queues[request.state.rater]
        if not (n.isdigit() and index.isdigit() and 1 <= int(n) <= len(queue)):
            return Response(status_code=404)
        item = study.items[queue[int(n) - 1]]
        file = image_file(study.images, item.prediction, int(index))
        found = image_bytes(file) if file is not None else None
        if found is None:
            return Response(status_code=404)
        return Response(found[0], media_type=found[1])

    @app.get("/r/{token}/static/{name}")
    def static(token: str, name: str) -> Response:
        if name not in _STATIC:
            return Response(status_code=404)
        return FileResponse(_HERE / "static" / name, media_type=_STATIC[name])

    return app


async def guarded(
    request: Request, call_next: Any, study: Any, hosts: set[str] | None, page: Any
) -> Response:
    """403 unless the Host is ours, the path carries a rater's token and a POST is
    same-origin; otherwise hand the request on with `request.state.rater` set."""
    if hosts is not None and request.headers.get("host") not in hosts:
        return Response("403: unknown host", 403, media_type="text/plain")
    parts = request.url.path.split("/")
    token = parts[2] if len(parts) >= 3 and parts[1] == "r" else ""
    rater = rater_for_token(token, study.raters) if token else None
    if rater is None:
        # Plain text: nothing about the study (not even the rubric) before a valid token.
        return Response("403: this page needs your personal link", 403, media_type="text/plain")
    if request.method not in ("GET", "HEAD", "POST"):
        return Response(status_code=405)
    if request.method == "POST":
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > _MAX_BODY:
            return Response(status_code=413)
        if not same_origin(request.headers, request.url.scheme):
            return page("error.html", 403, message="Cross-site form refused.", token=token)
    request.state.rater = rater
    response: Response = await call_next(request)
    return response


def _status_rows(study: Study, rater: str) -> list[tuple[int, str, str]]:
    """(position, title, done | partial | todo) for each item of the rater's queue."""
    if study.plan is not None:
        # A staged item is saved whole (every step answered) or not at all.
        stepped = study.store.answered_steps(rater)
        return [
            (n, study.items[i].prediction.title or i, "done" if stepped.get(i) else "todo")
            for n, i in enumerate(study.queues[rater], start=1)
        ]
    answered = study.store.answered(rater)
    wanted = {c.id for c in study.criteria}
    rows = []
    for n, item_id in enumerate(study.queues[rater], start=1):
        got = answered.get(item_id, set()) & wanted
        status = "done" if got == wanted else "partial" if got else "todo"
        rows.append((n, study.items[item_id].prediction.title or item_id, status))
    return rows
