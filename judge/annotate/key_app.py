"""The review app of `judge keys review` (FastAPI), guarded as the rating app is.

Routes, all under the reviewer's token (judge.annotate.app.guarded: the Host, the token in
the path, a same-origin POST, the security headers):

- `GET  /r/<token>/`: the reviewer's keys with their status.
- `GET  /r/<token>/keys/<n>`: key n of the reviewer's queue: the case and the key's items.
- `POST /r/<token>/keys/<n>`: save the reviewer's changes (CSRF token checked) as edits
  (judge.annotate.key_review.read_review); "finish" also records the review as theirs.
- `GET  /r/<token>/static/<file>`: the page's script and style sheet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from judge.annotate.app import guarded, templates
from judge.annotate.key_review import KINDS, KeyReviewStudy, open_review, read_review
from judge.annotate.key_store import StaleKey
from judge.annotate.page import FormError
from judge.annotate.security import SECURITY_HEADERS, check_bind, csrf_ok

__all__ = ["create_review_app", "run_review"]

_STATIC = {"annotate.js": "text/javascript", "annotate.css": "text/css"}


def create_review_app(review: KeyReviewStudy, hosts: set[str] | None = None) -> FastAPI:
    """The app serving `review`. `hosts`: the Host headers accepted (None: any)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    env = templates()
    static = Path(__file__).parent / "static"

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        response = await guarded(request, call_next, review, hosts, page)
        response.headers.update(SECURITY_HEADERS)
        return response

    def rows(rater: str) -> list[tuple[int, str, str]]:
        finished = review.store.finished()
        found = []
        for n, case in enumerate(review.queues[rater], start=1):
            status = "reviewed" if case in finished else "todo"
            if status == "todo" and review.store.key(case).edits:
                status = "started"
            found.append((n, case, status))
        return found

    @app.get("/r/{token}/")
    def index(request: Request, token: str, saved: int | None = None) -> HTMLResponse:
        rater = request.state.rater
        found = rows(rater)
        todo = next((n for n, _, status in found if status != "reviewed"), None)
        return page(
            "key_index.html", rater=rater, role=review.roles[rater], rows=found, todo=todo,
            token=token, saved=saved,
            finished=sum(status == "reviewed" for _, _, status in found),
        )  # fmt: skip

    @app.get("/r/{token}/keys/{n}")
    def key_page(request: Request, token: str, n: int, saved: int | None = None) -> Response:
        rater = request.state.rater
        queue = review.queues[rater]
        if not 1 <= n <= len(queue):
            return page("error.html", 404, message="No such key in your queue.", token=token)
        case_id = queue[n - 1]
        state = review.store.key(case_id)
        case = review.cases[case_id]
        return page(
            "key_item.html", rater=rater, role=review.roles[rater], token=token, n=n,
            total=len(queue), case_id=case_id, case=case, state=state, kinds=KINDS,
            letters=sorted(case.options or {}), csrf=review.raters[rater].csrf, saved=saved,
        )  # fmt: skip

    @app.post("/r/{token}/keys/{n}")
    async def submit(request: Request, token: str, n: int) -> Response:
        rater = request.state.rater
        queue = review.queues[rater]
        if not 1 <= n <= len(queue):
            return page("error.html", 404, message="No such key in your queue.", token=token)
        form = await request.form()
        if not csrf_ok(form.get("csrf"), review.raters[rater]):
            return page("error.html", 403, message="This form has expired.", token=token)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        case_id = queue[n - 1]
        state = review.store.key(case_id)
        if fields.get("version") != str(state.version):
            return _stale(page, token, n)
        try:
            items, edits = read_review(state.items, fields, rater, state.edits)
        except FormError as exc:
            return page("error.html", 400, message=str(exc), token=token)
        finish = fields.get("go") == "finish"
        try:
            await run_in_threadpool(
                review.store.save_review, case_id, rater, state.version, items, edits, finish
            )
        except StaleKey:
            return _stale(page, token, n)
        if finish and n < len(queue):
            return RedirectResponse(f"/r/{token}/keys/{n + 1}?saved={n}", status_code=303)
        if finish:
            return RedirectResponse(f"/r/{token}/?saved={n}", status_code=303)
        return RedirectResponse(f"/r/{token}/keys/{n}?saved={n}", status_code=303)

    @app.get("/r/{token}/static/{name}")
    def static_file(token: str, name: str) -> Response:
        if name not in _STATIC:
            return Response(status_code=404)
        return FileResponse(static / name, media_type=_STATIC[name])

    return app


def _stale(page: Any, token: str, n: int) -> Response:
    response: Response = page(
        "error.html",
        409,
        message="Someone changed this key since your page was made: reload it, then redo "
        "your changes.",
        token=token,
    )
    return response


def run_review(
    keys_file: str | Path,
    raters: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    on_ready: Callable[[KeyReviewStudy, dict[str, str]], Any] | None = None,
    **sources: Any,
) -> None:
    """Open the review (`sources`: `open_review`'s keywords), start the app, call
    `on_ready(review, links)`, serve until stopped."""
    from judge.annotate.server import AnnotationServer, rater_links

    check_bind(host, allow_remote)
    review = open_review(keys_file, raters, **sources)
    try:
        server = AnnotationServer(review, host, port, create=create_review_app)
        if on_ready is not None:
            on_ready(review, rater_links(review, server.url))
        server.serve_forever()
    finally:
        review.store.close()
