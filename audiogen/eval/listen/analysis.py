"""From stored ratings to a tidy table of scores, rater screening and the CSV export.

Scores are put on one scale per design: ACR 1..5 and MUSHRA 0..100 as given; CMOS as the
system compared with the reference (-3..+3; the stored answer is negated when the reference
was shown second); AB as 1 for the chosen and 0 for the other sample.

Screening, applied before any statistic and to the export (unless ``all_raters``):

1. A rater who failed any attention check they answered is excluded.
2. MUSHRA only: BS.1534-3 post-screening (:func:`audiogen.eval.listen.stats.mushra_excluded`).

Attention-check trials never enter statistics or the export.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from audiogen.eval.listen import spec as spec_module
from audiogen.eval.listen import stats
from audiogen.eval.listen.spec import TestSpec
from audiogen.eval.listen.store import RatingStore
from audiogen.utils import atomic_write_text

EXPORT_COLUMNS = ("rater", "test_type", "trial", "system", "item", "audio_path", "score")
HIDDEN_REFERENCE = "hidden_reference"


@dataclass(frozen=True)
class Score:
    """One score on the design's scale, with what was rated."""

    rater: str
    trial: str
    system: str
    item: str
    stimulus: str
    score: float


@dataclass
class RaterStatus:
    """A rater's progress and screening outcome."""

    rater: str
    done: int
    total: int
    attention_passed: int = 0
    attention_checked: int = 0
    excluded: str = ""


@dataclass
class Results:
    """Everything a report or export needs: spec, all scores, kept scores, rater status."""

    spec: TestSpec
    test_dir: Path
    scores: list[Score]
    raters: dict[str, RaterStatus]
    rules: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[Score]:
        return [s for s in self.scores if not self.raters[s.rater].excluded]

    def audio_path(self, score: Score) -> str:
        """The original file that was rated, or the generated anchor inside the test."""
        stimulus = self.spec.stimuli[score.stimulus]
        return stimulus.source or str((self.test_dir / stimulus.file).resolve())


def collect(test_dir: str | os.PathLike) -> Results:
    """Read a test folder's spec and ratings and screen the raters."""
    test_dir = Path(test_dir).resolve()
    spec = spec_module.load(test_dir)
    store = RatingStore(test_dir / spec_module.DB_NAME)
    stored = store.all_scores()
    progress = store.progress()
    scores: list[Score] = []
    raters: dict[str, RaterStatus] = {}
    for plan in spec.raters:
        by_trial = stored.get(plan.id, {})
        status = RaterStatus(plan.id, progress.get(plan.id, (0, 0.0))[0], len(plan.trials))
        for trial_id, order in plan.trials:
            answer = by_trial.get(trial_id)
            if answer is None:
                continue
            attention = spec.trials[trial_id].attention
            if attention is not None:
                status.attention_checked += 1
                status.attention_passed += spec_module.attention_passed(spec.type, attention,
                                                                        order, answer)
                continue
            scores += _normalise(spec, plan.id, trial_id, answer)
        raters[plan.id] = status
    results = Results(spec, test_dir, scores, raters)
    _screen(results)
    return results


def _normalise(spec: TestSpec, rater: str, trial_id: str, answer: dict[str, float]
               ) -> list[Score]:
    rows = []
    for stimulus_id, value in answer.items():
        stimulus = spec.stimuli[stimulus_id]
        if spec.type == "cmos" and stimulus.role == "reference":
            other = next(s for s in spec.trials[trial_id].stimuli if s != stimulus_id)
            stimulus, value = spec.stimuli[other], -value
        rows.append(Score(rater, trial_id, stimulus.system, stimulus.item, stimulus.id,
                          float(value)))
    return rows


def _screen(results: Results) -> None:
    results.rules.append("Raters who failed any attention check they answered are excluded; "
                         "attention-check trials never enter the statistics.")
    for status in results.raters.values():
        failed = status.attention_checked - status.attention_passed
        if failed:
            status.excluded = f"failed {failed} of {status.attention_checked} attention checks"
    if results.spec.type != "mushra":
        return
    results.rules.append(
        "MUSHRA post-screening (ITU-R BS.1534-3): raters who scored the hidden reference "
        f"below {stats.MUSHRA_REFERENCE_MIN:g} in more than "
        f"{100 * stats.MUSHRA_MAX_FRACTION:g}% of their trials are excluded.")
    hidden: dict[str, list[float]] = {}
    for score in results.scores:
        if score.system == HIDDEN_REFERENCE:
            hidden.setdefault(score.rater, []).append(score.score)
    for rater, fraction in stats.mushra_excluded(hidden).items():
        status = results.raters[rater]
        reason = (f"hidden reference below {stats.MUSHRA_REFERENCE_MIN:g} in "
                  f"{100 * fraction:.0f}% of trials")
        status.excluded = "; ".join(filter(None, [status.excluded, reason]))


def export_rows(results: Results, all_raters: bool = False) -> list[dict[str, object]]:
    """Rows of the ratings CSV (columns ``EXPORT_COLUMNS``), kept raters unless all_raters."""
    chosen = results.scores if all_raters else results.kept
    return [{"rater": s.rater, "test_type": results.spec.type, "trial": s.trial,
             "system": s.system, "item": s.item, "audio_path": results.audio_path(s),
             "score": s.score} for s in chosen]


def write_csv(path: str | os.PathLike, rows: list[dict[str, object]],
              columns: tuple[str, ...] | list[str]) -> Path:
    """Write rows as CSV atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(Path(path), buffer.getvalue())


def export(test_dir: str | os.PathLike, out: str | os.PathLike, all_raters: bool = False
           ) -> tuple[Path, int]:
    """Write the ratings CSV; returns its path and the number of rows."""
    rows = export_rows(collect(test_dir), all_raters)
    return write_csv(out, rows, EXPORT_COLUMNS), len(rows)
