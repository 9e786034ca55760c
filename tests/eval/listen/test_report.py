"""Scores, screening, report and export from hand-made ratings put in the store."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from audiogen.cli import main
from audiogen.eval.listen import analysis
from audiogen.eval.listen.design import create
from audiogen.eval.listen.report import write_report
from audiogen.eval.listen.spec import TestSpec
from audiogen.eval.listen.store import RatingStore
from tests.eval.listen.helpers import write_systems


def _answer_attention(test: TestSpec, store: RatingStore, rater: str, correct: bool) -> None:
    for trial_id, order in test.rater(rater).trials:
        attention = test.trials[trial_id].attention
        if attention is None:
            continue
        if test.type == "acr":
            value = attention.expect if correct else (attention.expect % 5) + 1
            store.submit(rater, trial_id, {order[0]: float(value)})
        elif test.type == "mushra":
            value = attention.expect if correct else 50
            store.submit(rater, trial_id, {s: float(value) for s in order})


def test_acr_report_export_and_attention_screening(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, ("ref", "alpha", "beta"), items=3)
    test = create(tmp_path / "test", "acr", {"alpha": folders["alpha"], "beta": folders["beta"]},
                  raters=3, attention_checks=1, seed=2).spec
    store = RatingStore(tmp_path / "test" / "ratings.sqlite")
    given = {"alpha": {"r1": [5, 4, 4], "r2": [4, 4, 3], "r3": [1, 1, 1]},
             "beta": {"r1": [2, 3, 2], "r2": [3, 2, 2], "r3": [5, 5, 5]}}
    for rater in ("r1", "r2", "r3"):
        for trial_id, order in test.rater(rater).trials:
            trial = test.trials[trial_id]
            if trial.attention is not None:
                continue
            stimulus = test.stimuli[order[0]]
            index = int(stimulus.item[-2:])
            store.submit(rater, trial_id, {order[0]: float(given[stimulus.system][rater][index])})
        _answer_attention(test, store, rater, correct=rater != "r3")

    results = analysis.collect(tmp_path / "test")
    assert results.raters["r3"].excluded.startswith("failed 1 of 1")
    assert not results.raters["r1"].excluded and results.raters["r1"].attention_passed == 1
    out, result = write_report(tmp_path / "test", tmp_path / "out" / "report.html")
    alpha = [5, 4, 4, 4, 4, 3]  # r1 and r2 only: r3 failed the attention check
    assert result.summaries["alpha"].mean == pytest.approx(np.mean(alpha))
    assert result.summaries["alpha"].n == 6
    assert result.summaries["beta"].mean == pytest.approx(np.mean([2, 3, 2, 3, 2, 2]))
    comparison = result.comparisons[0]
    assert (comparison.a, comparison.b, comparison.test) == ("alpha", "beta", "wilcoxon")
    page = out.read_text()
    for text in ("alpha", "beta", f"{np.mean(alpha):.2f}", "Kendall", "attention check",
                 "data:image/png;base64,"):
        assert text in page
    assert "://" not in page.replace("data:image", "")  # offline: no external resources
    with open(out.with_name("report_summary.csv")) as handle:
        rows = {row["system"]: row for row in csv.DictReader(handle)}
    assert float(rows["beta"]["mean"]) == pytest.approx(np.mean([2, 3, 2, 3, 2, 2]))

    assert main(["listen", "export", str(tmp_path / "test"), "--out",
                 str(tmp_path / "ratings.csv")]) == 0
    with open(tmp_path / "ratings.csv") as handle:
        reader = csv.DictReader(handle)
        exported = list(reader)
    assert reader.fieldnames == ["rater", "test_type", "trial", "system", "item", "audio_path",
                                 "score"]
    assert len(exported) == 12 and {row["rater"] for row in exported} == {"r1", "r2"}
    for row in exported:
        assert row["test_type"] == "acr"
        path = Path(row["audio_path"])
        assert path.is_absolute() and path == (folders[row["system"]] / (row["item"] + ".wav")
                                               ).resolve()
        assert float(row["score"]) == given[row["system"]][row["rater"]][int(row["item"][-2:])]
    assert main(["listen", "export", str(tmp_path / "test"), "--out",
                 str(tmp_path / "all.csv"), "--all-raters"]) == 0
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 1 + 18


def test_cmos_scores_are_system_relative_to_reference(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=2)
    test = create(tmp_path / "test", "cmos", {"a": folders["a"]}, reference=folders["ref"],
                  raters=1, attention_checks=0).spec
    store = RatingStore(tmp_path / "test" / "ratings.sqlite")
    expected = []
    for trial_id, order in test.rater("r1").trials:
        store.submit("r1", trial_id, {order[1]: 2.0})  # "Sample 2 is better than Sample 1"
        expected.append(2.0 if test.stimuli[order[1]].system == "a" else -2.0)
    scores = analysis.collect(tmp_path / "test").scores
    assert sorted(s.score for s in scores) == sorted(expected)
    assert {s.system for s in scores} == {"a"}
    rows = analysis.export_rows(analysis.collect(tmp_path / "test"))
    assert all(row["audio_path"] == str((folders["a"] / f"{row['item']}.wav").resolve())
               for row in rows)


def test_mushra_post_screening_excludes_a_planted_rater(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=4)
    test = create(tmp_path / "test", "mushra", {"a": folders["a"], "b": folders["b"]},
                  reference=folders["ref"], raters=4, attention_checks=1).spec
    store = RatingStore(tmp_path / "test" / "ratings.sqlite")
    level = {"a": 70.0, "b": 40.0, "hidden_reference": 100.0, "anchor_3500hz": 10.0,
             "anchor_7000hz": 30.0}
    for rater in ("r1", "r2", "r3", "r4"):
        main_trials = [(t, o) for t, o in test.rater(rater).trials
                       if test.trials[t].attention is None]
        for number, (trial_id, order) in enumerate(main_trials):
            scores = {}
            for stimulus in order:
                system = test.stimuli[stimulus].system
                value = level[system] + (number % 3)
                if rater == "r4" and system == "hidden_reference" and number < 2:
                    value = 60.0  # 2 of 4 trials (50% > 15%) below 90
                scores[stimulus] = min(value, 100.0)
            store.submit(rater, trial_id, scores)
        _answer_attention(test, store, rater, correct=True)
    out, result = write_report(tmp_path / "test")
    results = result.results
    assert "hidden reference below 90 in 50%" in results.raters["r4"].excluded
    assert [r for r, s in results.raters.items() if s.excluded] == ["r4"]
    assert result.summaries["hidden_reference"].mean == pytest.approx(100.0)
    assert result.summaries["a"].n == 3 * 4
    assert result.summaries["anchor_3500hz"].mean < result.summaries["b"].mean
    assert {(c.a, c.b) for c in result.comparisons} == {("a", "b")}
    page = out.read_text()
    assert "BS.1534-3" in page and "more than 15%" in page and "anchor_7000hz" in page
    assert all(row["rater"] != "r4" for row in analysis.export_rows(results))


def test_ab_preference_counts_and_binomial_test(tmp_path: Path) -> None:
    folders = write_systems(tmp_path, items=5)
    test = create(tmp_path / "test", "ab", {"a": folders["a"], "b": folders["b"]}, raters=2,
                  attention_checks=0).spec
    store = RatingStore(tmp_path / "test" / "ratings.sqlite")
    for rater in ("r1", "r2"):
        for number, (trial_id, order) in enumerate(test.rater(rater).trials):
            prefer = "a" if (rater == "r1" or number < 4) else "b"  # a wins 9 of 10
            chosen = next(s for s in order if test.stimuli[s].system == prefer)
            store.submit(rater, trial_id, {s: float(s == chosen) for s in order})
    out, result = write_report(tmp_path / "test")
    (preference,) = result.preferences
    assert (preference.a, preference.b, preference.wins_a, preference.wins_b) == ("a", "b", 9, 1)
    assert preference.p == pytest.approx(22 / 1024)
    assert "binomial" in out.read_text()
    assert not math.isnan(preference.low)


def test_cli_create_prints_links(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folders = write_systems(tmp_path, items=2)
    code = main(["listen", "create", "--out", str(tmp_path / "t"), "--type", "acr",
                 "--system", f"a={folders['a']}", "--raters", "2", "--base-url",
                 "http://localhost:9999"])
    printed = capsys.readouterr().out
    assert code == 0 and printed.count("http://localhost:9999/r/") == 2
    assert main(["listen", "create", "--out", str(tmp_path / "u"), "--type", "acr",
                 "--system", "nonsense"]) == 1
    assert "NAME=DIR" in capsys.readouterr().err
