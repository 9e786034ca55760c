"""Loopback load test: 50 concurrent raters x 40 ratings against the real server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from audiogen.eval.listen.design import create
from audiogen.eval.listen.store import RatingStore
from tests.eval.listen.helpers import http, live_server, write_systems

RATERS = 50
TRIALS = 40  # 2 systems x 20 items, one ACR rating each


def test_fifty_raters_forty_ratings_none_lost_or_duplicated(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=20, seconds=0.1)
    created = create(tmp_path / "test", "acr", {"a": folders["a"], "b": folders["b"]},
                     raters=RATERS, attention_checks=0, seed=11)
    expected: dict[tuple[str, str, str], float] = {}
    for plan in created.spec.raters:
        assert len(plan.trials) == TRIALS
        for number, (trial_id, order) in enumerate(plan.trials):
            expected[(plan.id, trial_id, order[0])] = float(1 + (number + int(plan.id[1:])) % 5)
    failures: list[str] = []
    barrier = threading.Barrier(RATERS)

    def rater(rater_id: str, url: str) -> None:
        token = created.rater_tokens[rater_id]
        barrier.wait()  # all raters start together
        for trial_id, order in created.spec.rater(rater_id).trials:
            score = expected[(rater_id, trial_id, order[0])]
            status, body, _ = http("POST", f"{url}/api/r/{token}/trials/{trial_id}",
                                   {"scores": {order[0]: score}}, timeout=120)
            if status != 200:
                failures.append(f"{rater_id}/{trial_id}: {status} {body}")

    with live_server(tmp_path / "test") as url:
        threads = [threading.Thread(target=rater, args=(plan.id, url))
                   for plan in created.spec.raters]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - start
    print(f"load test: {RATERS * TRIALS} ratings from {RATERS} concurrent raters in "
          f"{seconds:.2f} s ({RATERS * TRIALS / seconds:.0f} ratings/s)")
    assert not failures, failures[:5]
    stored = RatingStore(tmp_path / "test" / "ratings.sqlite").ratings()
    assert len(stored) == RATERS * TRIALS == 2000
    assert {(r.rater, r.trial, r.stimulus): r.score for r in stored} == expected
    assert seconds < 120
