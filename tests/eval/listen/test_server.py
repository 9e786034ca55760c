"""The FastAPI app under a real uvicorn on loopback: tokens, validation, traversal, resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from audiogen.eval.listen.design import create
from tests.eval.listen.helpers import http, live_server, write_systems


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("served")
    folders = write_systems(root, ("ref", "alpha", "beta"), items=3)
    created = create(root / "test", "acr", {"alpha": folders["alpha"], "beta": folders["beta"]},
                     reference=folders["ref"], raters=3, attention_checks=1, seed=5)
    with live_server(root / "test") as url:
        yield {"url": url, "dir": root / "test", "created": created,
               "rater": created.rater_tokens["r1"], "admin": created.admin_token}


def _state(served: dict[str, Any], token: str) -> dict[str, Any]:
    status, body, _ = http("GET", f"{served['url']}/api/r/{token}/state")
    assert status == 200, body
    return body


def _raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (no client-side normalisation of dots or escapes)."""
    host, port = url.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_rater_page_is_self_contained_and_hardened(served: dict[str, Any]) -> None:
    status, page, headers = http("GET", f"{served['url']}/r/{served['rater']}")
    assert status == 200 and b"/static/rater.js" in page
    _, script, _ = http("GET", f"{served['url']}/static/rater.js")
    for text in (page, script):
        assert b"://" not in text  # no CDN, nothing external: works offline
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert http("GET", f"{served['url']}/r/not-a-token")[0] == 403


def test_state_hides_systems_and_lists_the_raters_plan(served: dict[str, Any]) -> None:
    state = _state(served, served["created"].rater_tokens["r2"])
    plan = served["created"].spec.rater("r2")
    assert [t["id"] for t in state["trials"]] == [trial for trial, _ in plan.trials]
    assert state["type"] == "acr" and state["scale"] == [1, 5]
    text = json.dumps(state)
    assert "alpha" not in text and "beta" not in text and "source" not in text
    attention = [t for t in state["trials"] if t["instruction"]]
    assert len(attention) == 1 and "Attention check" in attention[0]["instruction"]


def test_submit_resume_and_resubmit(served: dict[str, Any]) -> None:
    token = served["created"].rater_tokens["r3"]
    state = _state(served, token)
    first, second = state["trials"][0], state["trials"][1]
    url = f"{served['url']}/api/r/{token}/trials/"
    status, body, _ = http("POST", url + first["id"], {"scores": {first["stimuli"][0]: 4}})
    assert status == 200 and body == {"stored": 1, "done": 1, "total": len(state["trials"])}
    resumed = _state(served, token)  # a reopened link continues after the done trial
    assert [t["done"] for t in resumed["trials"]][:2] == [True, False]
    assert resumed["done"] == 1
    status, body, _ = http("POST", url + first["id"], {"scores": {first["stimuli"][0]: 2}})
    assert status == 200 and body["done"] == 1  # an update, not a second trial
    http("POST", url + second["id"], {"scores": {second["stimuli"][0]: 5}})
    from audiogen.eval.listen.store import RatingStore

    stored = RatingStore(served["dir"] / "ratings.sqlite").ratings("r3")
    assert sorted((r.trial, r.score) for r in stored) == sorted(
        [(first["id"], 2.0), (second["id"], 5.0)])


@pytest.mark.parametrize("body, fragment", [
    ({"scores": {"STIM": 6}}, "between 1 and 5"),
    ({"scores": {"STIM": 0}}, "between 1 and 5"),
    ({"scores": {"STIM": 3.5}}, "whole number"),
    ({"scores": {"STIM": "abc"}}, "valid number"),
    ({"scores": {"0123456789abcdef": 3}}, "missing"),
    ({"scores": {"STIM": 3}, "extra": 1}, "extra"),
    ({"comparison": 1}, "exactly the field 'scores'"),
    ({}, "exactly the field 'scores'"),
    ({"scores": {"../../tokens.json": 3}}, "pattern"),
])
def test_bad_submissions_get_422_with_a_message(served: dict[str, Any], body: dict[str, Any],
                                                fragment: str) -> None:
    token = served["created"].rater_tokens["r2"]
    trial = _state(served, token)["trials"][0]
    text = json.dumps(body).replace("STIM", trial["stimuli"][0])
    status, answer, _ = http("POST", f"{served['url']}/api/r/{token}/trials/{trial['id']}",
                             raw=text.encode())
    assert status == 422, answer
    assert fragment in answer["detail"]


def test_unknown_trial_bad_token_and_bad_json(served: dict[str, Any]) -> None:
    url, token = served["url"], served["rater"]
    status, body, _ = http("POST", f"{url}/api/r/{token}/trials/t9999", {"scores": {}})
    assert status == 404 and "not in your test" in body["detail"]
    other = served["created"].spec.rater("r2").trials  # attention trials are per rater
    foreign = next(trial for trial, _ in other if trial.startswith("c-"))
    assert http("POST", f"{url}/api/r/{token}/trials/{foreign}", {"scores": {}})[0] == 404
    status, body, _ = http("POST", f"{url}/api/r/wrong/trials/t0001", {"scores": {}})
    assert status == 403 and "token" in body["detail"]
    assert http("GET", f"{url}/api/r/{served['admin']}/state")[0] == 403
    assert http("POST", f"{url}/api/r/{token}/trials/t0001", raw=b"{not json")[0] == 422


def test_audio_is_served_by_opaque_id_only(served: dict[str, Any]) -> None:
    url, token, test = served["url"], served["rater"], served["created"].spec
    stimulus = next(iter(test.stimuli.values()))
    status, data, headers = http("GET", f"{url}/audio/{token}/{stimulus.id}")
    assert status == 200 and headers["content-type"].startswith("audio/")
    assert data == (served["dir"] / stimulus.file).read_bytes()
    assert http("GET", f"{url}/audio/wrong/{stimulus.id}")[0] == 403
    assert http("GET", f"{url}/audio/{token}/ffffffffffffffff")[0] == 404
    secret = served["admin"].encode()
    attempts = [
        f"/audio/{token}/../tokens.json", f"/audio/{token}/..%2Ftokens.json",
        f"/audio/{token}/%2e%2e%2ftokens.json", f"/audio/{token}/%2E%2E/tokens.json",
        f"/audio/{token}/%252e%252e%252ftokens.json", f"/audio/{token}/..%5Ctokens.json",
        f"/audio/{token}/....//tokens.json", f"/audio/{token}/%2e%2e%2f%2e%2e%2ftest.json",
        f"/audio/{token}/{stimulus.id}%00.wav", f"/audio/{token}/{stimulus.id}/../../test.json",
        f"/audio/{token}/..%2F..%2F..%2Fetc%2Fpasswd", "/audio/..%2F..%2Ftokens.json/x",
        "/static/..%2Fserver.py", "/static/../server.py", "/static/%2e%2e%2fserver.py",
        "/static/rater.html%2F..%2F..%2Fserver.py", f"/audio/{token}/audio%2F{stimulus.id}.wav",
    ]
    for path in attempts:
        status, body = _raw_get(url, path)
        assert status in (400, 403, 404), (path, status)
        assert secret not in body and b"raters" not in body and b"root:" not in body, path


def test_admin_page_and_progress_need_the_admin_token(served: dict[str, Any]) -> None:
    url = served["url"]
    status, body, _ = http("GET", f"{url}/api/admin/{served['admin']}/progress")
    assert status == 200
    assert [row["rater"] for row in body["raters"]] == ["r1", "r2", "r3"]
    assert body["trials_total"] == 3 * (9 + 1)
    assert body["ratings"] == sum(row["done"] for row in body["raters"])
    status, page, _ = http("GET", f"{url}/admin/{served['admin']}")
    assert status == 200 and b"r1" in page and b"progress" in page
    assert http("GET", f"{url}/admin/{served['rater']}")[0] == 403
    assert http("GET", f"{url}/api/admin/nope/progress")[0] == 403


def test_serving_a_folder_without_a_test_fails_clearly(tmp_path: Path) -> None:
    from audiogen.errors import DataError
    from audiogen.eval.listen.server import create_app

    with pytest.raises(DataError, match="test.json"):
        create_app(tmp_path)
