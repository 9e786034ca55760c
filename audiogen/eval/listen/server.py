"""``audiogen listen serve``: the FastAPI app raters and the admin use.

Routes (``TOKEN`` is a rater's or the admin's access token from ``tokens.json``):

- ``GET /r/TOKEN``: the rater page (static HTML + JS from this package, no CDN).
- ``GET /api/r/TOKEN/state``: the rater's trials in their order, which are done, the scale.
- ``POST /api/r/TOKEN/trials/TRIAL``: submit one trial; a resubmission updates the stored
  scores. Bodies are validated by pydantic; bad tokens get 403, unknown trials 404, bad
  scores 422, each with a ``detail`` message.
- ``GET /audio/TOKEN/STIMULUS``: a stimulus of the rater's own trials, found by opaque id in
  ``test.json`` and served only from ``TEST_DIR/audio`` (ids are 16 hex digits, never paths).
- ``GET /admin/TOKEN`` and ``GET /api/admin/TOKEN/progress``: progress per rater.

Tokens are compared by their SHA-256 digests in a dictionary, never echoed in logs or pages,
and pages send ``Referrer-Policy: no-referrer`` and a strict Content-Security-Policy.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from audiogen.eval.listen import spec as spec_module
from audiogen.eval.listen.spec import ACR_LABELS, CMOS_LABELS, INSTRUCTIONS, RaterPlan, TestSpec
from audiogen.eval.listen.store import RatingStore

STIMULUS_ID = re.compile(r"[0-9a-f]{16}")
STATIC_FILES = {"rater.js": "text/javascript", "style.css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "media-src 'self'; img-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
StimulusId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
Score = Annotated[float, Field(allow_inf_nan=False)]


class Submission(BaseModel):
    """A trial's answer: ``scores`` (ACR, MUSHRA), ``choice`` (AB) or ``comparison`` (CMOS)."""

    model_config = ConfigDict(extra="forbid")

    scores: Annotated[dict[StimulusId, Score], Field(max_length=64)] | None = None
    choice: StimulusId | None = None
    comparison: Annotated[int, Field(ge=-3, le=3)] | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _page(name: str) -> str:
    return resources.files("audiogen.eval.listen").joinpath("static", name).read_text()


class ListeningTest:
    """A test folder opened for serving: spec, tokens, store and the checks on requests."""

    def __init__(self, test_dir: str | Path) -> None:
        self.test_dir = Path(test_dir).resolve()
        self.spec: TestSpec = spec_module.load(self.test_dir)
        tokens = spec_module.load_tokens(self.test_dir)
        self.admin_digest = _digest(tokens["admin"])
        self.raters = {_digest(token): self.spec.rater(rater)
                       for rater, token in tokens["raters"].items()}
        self.audio_root = (self.test_dir / spec_module.AUDIO_DIR).resolve()
        self.store = RatingStore(self.test_dir / spec_module.DB_NAME)
        self.allowed = {plan.id: self._stimuli_of(plan) for plan in self.spec.raters}

    def _stimuli_of(self, plan: RaterPlan) -> set[str]:
        allowed = set()
        for trial_id, order in plan.trials:
            allowed |= set(order)
            reference = self.spec.trials[trial_id].reference
            if reference:
                allowed.add(reference)
        return allowed

    def rater(self, token: str) -> RaterPlan:
        plan = self.raters.get(_digest(token))
        if plan is None:
            raise HTTPException(403, "unknown access token; use the link you were given")
        return plan

    def check_admin(self, token: str) -> None:
        if _digest(token) != self.admin_digest:
            raise HTTPException(403, "unknown admin token")

    def state(self, plan: RaterPlan) -> dict[str, Any]:
        done = self.store.completed(plan.id)
        trials = []
        for trial_id, order in plan.trials:
            trial = self.spec.trials[trial_id]
            trials.append({"id": trial_id, "stimuli": order, "reference": trial.reference,
                           "instruction": trial.attention.instruction if trial.attention
                           else None, "done": trial_id in done})
        labels = {"acr": ACR_LABELS, "cmos": CMOS_LABELS}.get(self.spec.type, {})
        return {"title": self.spec.title, "type": self.spec.type, "rater": plan.id,
                "instructions": INSTRUCTIONS[self.spec.type],
                "scale": list(self.spec.score_range),
                "labels": {str(key): value for key, value in labels.items()},
                "trials": trials, "done": sum(t["done"] for t in trials), "total": len(trials)}

    def scores_of(self, plan: RaterPlan, trial_id: str, submission: Submission
                  ) -> dict[str, float]:
        """The rows to store for a submission, or a 404/422 naming what is wrong."""
        order = dict(plan.trials).get(trial_id)
        if order is None:
            raise HTTPException(404, f"trial {trial_id!r} is not in your test")
        kind = self.spec.type
        expected = {"acr": "scores", "mushra": "scores", "ab": "choice",
                    "cmos": "comparison"}[kind]
        given = [name for name in ("scores", "choice", "comparison")
                 if getattr(submission, name) is not None]
        if given != [expected]:
            raise HTTPException(422, f"a {kind.upper()} trial takes exactly the field "
                                     f"{expected!r} (got {given or 'none'})")
        if kind == "ab":
            if submission.choice not in order:
                raise HTTPException(422, f"choice {submission.choice!r} is not a sample of "
                                         f"trial {trial_id!r}")
            return {stimulus: float(stimulus == submission.choice) for stimulus in order}
        if kind == "cmos":
            return {order[1]: float(submission.comparison)}  # type: ignore[arg-type]
        scores = submission.scores or {}
        if set(scores) != set(order):
            missing, extra = sorted(set(order) - set(scores)), sorted(set(scores) - set(order))
            raise HTTPException(422, f"trial {trial_id!r} needs a score for each of its "
                                     f"samples (missing {missing}, unknown {extra})")
        low, high = self.spec.score_range
        for stimulus, value in scores.items():
            if not low <= value <= high or (kind == "acr" and not float(value).is_integer()):
                whole = "a whole number " if kind == "acr" else ""
                raise HTTPException(422, f"score {value} for sample {stimulus} must be "
                                         f"{whole}between {low} and {high}")
        return dict(scores)

    def audio_file(self, plan_id: str | None, stimulus_id: str) -> Path:
        """The stimulus file under ``audio/`` (404 for anything else, including traversal)."""
        if not STIMULUS_ID.fullmatch(stimulus_id) or stimulus_id not in self.spec.stimuli or (
                plan_id is not None and stimulus_id not in self.allowed[plan_id]):
            raise HTTPException(404, "no such sample")
        path = (self.audio_root / Path(self.spec.stimuli[stimulus_id].file).name).resolve()
        if path.parent != self.audio_root or not path.is_file():
            raise HTTPException(404, "no such sample")
        return path

    def progress(self) -> list[dict[str, Any]]:
        started = self.store.progress()
        attention = self._attention_results()
        rows = []
        for plan in self.spec.raters:
            done, last = started.get(plan.id, (0, 0.0))
            passed, checked = attention.get(plan.id, (0, 0))
            rows.append({"rater": plan.id, "done": done, "total": len(plan.trials),
                         "last": last or None, "attention_passed": passed,
                         "attention_checked": checked})
        return rows

    def _attention_results(self) -> dict[str, tuple[int, int]]:
        results: dict[str, tuple[int, int]] = {}
        for plan in self.spec.raters:
            scores = self.store.scores(plan.id)
            passed = checked = 0
            for trial_id, order in plan.trials:
                attention = self.spec.trials[trial_id].attention
                if attention is None or trial_id not in scores:
                    continue
                checked += 1
                passed += spec_module.attention_passed(self.spec.type, attention, order,
                                                       scores[trial_id])
            results[plan.id] = (passed, checked)
        return results


def create_app(test_dir: str | Path) -> FastAPI:
    """The FastAPI app serving one test folder."""
    test = ListeningTest(test_dir)
    app = FastAPI(title=f"audiogen listen: {test.spec.title}", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.test = test

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}"
                             for issue in error.errors())
        return JSONResponse({"detail": f"invalid request: {problems}"}, status_code=422)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return ("<!doctype html><title>Listening test</title><p>Open the personal link you "
                "were given to take part.</p>")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404, "no such file")
        return Response(_page(name), media_type=STATIC_FILES[name])

    @app.get("/r/{token}", response_class=HTMLResponse)
    def rater_page(token: str) -> str:
        test.rater(token)
        return _page("rater.html")

    @app.get("/api/r/{token}/state")
    def state(token: str) -> dict[str, Any]:
        return test.state(test.rater(token))

    @app.post("/api/r/{token}/trials/{trial_id}")
    def submit(token: str, trial_id: str, submission: Submission) -> dict[str, Any]:
        plan = test.rater(token)
        scores = test.scores_of(plan, trial_id, submission)
        test.store.submit(plan.id, trial_id, scores)
        done = len(test.store.completed(plan.id))
        return {"stored": len(scores), "done": done, "total": len(plan.trials)}

    @app.get("/audio/{token}/{stimulus_id}")
    def audio(token: str, stimulus_id: str) -> FileResponse:
        if _digest(token) == test.admin_digest:
            path = test.audio_file(None, stimulus_id)
        else:
            path = test.audio_file(test.rater(token).id, stimulus_id)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type,
                            headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/admin/{token}/progress")
    def admin_progress(token: str) -> dict[str, Any]:
        test.check_admin(token)
        rows = test.progress()
        return {"title": test.spec.title, "type": test.spec.type, "raters": rows,
                "ratings": len(test.store.ratings()),
                "trials_done": sum(row["done"] for row in rows),
                "trials_total": sum(row["total"] for row in rows)}

    @app.get("/admin/{token}", response_class=HTMLResponse)
    def admin_page(token: str) -> str:
        return _admin_html(admin_progress(token))

    return app


def _admin_html(progress: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(row['rater'])}</td><td>{row['done']} / {row['total']}</td>"
        f"<td><progress value='{row['done']}' max='{row['total']}'></progress></td>"
        f"<td>{row['attention_passed']} / {row['attention_checked']}</td></tr>"
        for row in progress["raters"])
    title = html.escape(progress["title"])
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}: admin"
            f"</title><link rel='stylesheet' href='/static/style.css'></head><body><main>"
            f"<h1>{title} ({progress['type'].upper()}): progress</h1>"
            f"<p>{progress['trials_done']} of {progress['trials_total']} trials done, "
            f"{progress['ratings']} ratings stored.</p><table><thead><tr><th>Rater</th>"
            f"<th>Trials done</th><th></th><th>Attention checks passed</th></tr></thead>"
            f"<tbody>{rows}</tbody></table><p>Run <code>audiogen listen report</code> on the "
            f"test folder for results.</p></main></body></html>")


def serve(test_dir: str | Path, host: str = "127.0.0.1", port: int = 8000,
          log_level: str = "warning") -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(test_dir), host=host, port=port, log_level=log_level,
                access_log=False)
