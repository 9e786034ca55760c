"""Ratings in SQLite (stdlib ``sqlite3``, WAL mode), safe for concurrent writers.

Every call opens its own connection with a busy timeout, and a submission is one
``BEGIN IMMEDIATE`` transaction (the write lock is taken up front, so two writers never
deadlock upgrading read locks). A rating is unique per (rater, trial, stimulus): submitting
a trial again updates its scores and ``updated`` time and never adds rows. A trial counts as
done for a rater once it is in ``completions``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    rater TEXT NOT NULL,
    trial TEXT NOT NULL,
    stimulus TEXT NOT NULL,
    score REAL NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (rater, trial, stimulus)
);
CREATE TABLE IF NOT EXISTS completions (
    rater TEXT NOT NULL,
    trial TEXT NOT NULL,
    completed REAL NOT NULL,
    submissions INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (rater, trial)
);
"""


@dataclass(frozen=True)
class Rating:
    """One stored score; times are Unix seconds."""

    rater: str
    trial: str
    stimulus: str
    score: float
    created: float
    updated: float


class RatingStore:
    """The ratings database of one test."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self.connect() as connection:
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(f"{self.path}: SQLite refused WAL mode (got {mode})")
            connection.executescript(SCHEMA)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection (autocommit; transactions are explicit), closed afterwards."""
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                     isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA synchronous=NORMAL")
            yield connection
        finally:
            connection.close()

    def journal_mode(self) -> str:
        with self.connect() as connection:
            return str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()

    def submit(self, rater: str, trial: str, scores: dict[str, float],
               now: float | None = None) -> None:
        """Store a trial's scores (insert or update) and mark the trial done, atomically."""
        now = time.time() if now is None else now
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(
                    "INSERT INTO ratings (rater, trial, stimulus, score, created, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rater, trial, stimulus) "
                    "DO UPDATE SET score = excluded.score, updated = excluded.updated",
                    [(rater, trial, stimulus, float(score), now, now)
                     for stimulus, score in scores.items()])
                connection.execute(
                    "INSERT INTO completions (rater, trial, completed) VALUES (?, ?, ?) "
                    "ON CONFLICT (rater, trial) DO UPDATE SET "
                    "submissions = submissions + 1", (rater, trial, now))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def completed(self, rater: str) -> set[str]:
        """Trials the rater has submitted."""
        with self.connect() as connection:
            rows = connection.execute("SELECT trial FROM completions WHERE rater = ?",
                                      (rater,)).fetchall()
        return {row[0] for row in rows}

    def scores(self, rater: str) -> dict[str, dict[str, float]]:
        """The rater's stored scores as ``{trial: {stimulus: score}}``."""
        result: dict[str, dict[str, float]] = {}
        for rating in self.ratings(rater):
            result.setdefault(rating.trial, {})[rating.stimulus] = rating.score
        return result

    def all_scores(self) -> dict[str, dict[str, dict[str, float]]]:
        """Every stored score as ``{rater: {trial: {stimulus: score}}}``."""
        result: dict[str, dict[str, dict[str, float]]] = {}
        for rating in self.ratings():
            result.setdefault(rating.rater, {}).setdefault(rating.trial, {})[
                rating.stimulus] = rating.score
        return result

    def ratings(self, rater: str | None = None) -> list[Rating]:
        """All ratings (or one rater's), ordered by rater, trial, stimulus."""
        query = "SELECT rater, trial, stimulus, score, created, updated FROM ratings"
        arguments: tuple[str, ...] = ()
        if rater is not None:
            query += " WHERE rater = ?"
            arguments = (rater,)
        with self.connect() as connection:
            rows = connection.execute(query + " ORDER BY rater, trial, stimulus",
                                      arguments).fetchall()
        return [Rating(*row) for row in rows]

    def progress(self) -> dict[str, tuple[int, float]]:
        """``{rater: (trials done, time of the last submission)}`` for raters who started."""
        with self.connect() as connection:
            rows = connection.execute("SELECT rater, COUNT(*), MAX(completed) FROM completions "
                                      "GROUP BY rater").fetchall()
        return {rater: (int(count), float(last)) for rater, count, last in rows}
