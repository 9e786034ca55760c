"""SQLite store: WAL mode, one row per (rater, trial, stimulus), concurrent writers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from audiogen.eval.listen.store import RatingStore


def test_wal_mode_and_busy_timeout(tmp_path: Path) -> None:
    store = RatingStore(tmp_path / "ratings.sqlite")
    assert store.journal_mode() == "wal"
    with store.connect() as connection:
        assert connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    raw = sqlite3.connect(tmp_path / "ratings.sqlite")  # persistent, seen by a new client
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_resubmission_updates_and_never_duplicates(tmp_path: Path) -> None:
    store = RatingStore(tmp_path / "ratings.sqlite")
    store.submit("r1", "t1", {"s1": 3.0, "s2": 40.0}, now=100.0)
    store.submit("r1", "t1", {"s1": 5.0, "s2": 40.0}, now=200.0)
    store.submit("r2", "t1", {"s1": 1.0}, now=150.0)
    ratings = store.ratings()
    assert [(r.rater, r.trial, r.stimulus, r.score) for r in ratings] == [
        ("r1", "t1", "s1", 5.0), ("r1", "t1", "s2", 40.0), ("r2", "t1", "s1", 1.0)]
    assert (ratings[0].created, ratings[0].updated) == (100.0, 200.0)
    assert store.completed("r1") == {"t1"}
    assert store.progress() == {"r1": (1, 100.0), "r2": (1, 150.0)}
    assert store.all_scores()["r1"] == {"t1": {"s1": 5.0, "s2": 40.0}}
    with store.connect() as connection:
        assert connection.execute("SELECT submissions FROM completions WHERE rater='r1'"
                                  ).fetchone()[0] == 2


def test_a_failed_submission_leaves_nothing(tmp_path: Path) -> None:
    store = RatingStore(tmp_path / "ratings.sqlite")
    bad = {"s1": 2.0, "s2": "not a number"}
    try:
        store.submit("r1", "t1", bad)  # type: ignore[dict-item]
    except ValueError:
        pass
    assert store.ratings() == [] and store.completed("r1") == set()


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    store = RatingStore(tmp_path / "ratings.sqlite")
    errors: list[BaseException] = []

    def rater(index: int) -> None:
        try:
            for trial in range(30):
                store.submit(f"r{index}", f"t{trial}", {"a": float(index), "b": float(trial)})
                if trial % 10 == 0:  # resubmissions race with other writers too
                    store.submit(f"r{index}", f"t{trial}", {"a": float(index),
                                                            "b": float(trial)})
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=rater, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    ratings = store.ratings()
    assert len(ratings) == 12 * 30 * 2
    assert len({(r.rater, r.trial, r.stimulus) for r in ratings}) == len(ratings)
    assert all(r.score == float(r.rater[1:]) if r.stimulus == "a" else
               r.score == float(r.trial[1:]) for r in ratings)
