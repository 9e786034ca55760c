"""End to end in real headless Chromium: open the link, play, rate, submit, then report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from audiogen.cli import main
from audiogen.eval.listen.design import create
from audiogen.eval.listen.report import write_report
from tests.eval.listen.helpers import live_server, write_systems

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT_MS = 120_000  # generous: the CI machine may be a loaded 2-core box
ACR_SCORES = {"alpha": [4, 5], "beta": [2, 1], "reference": [5, 5]}
MUSHRA_SCORES = {"alpha": 70, "beta": 35, "hidden_reference": 100, "anchor_3500hz": 10,
                 "anchor_7000hz": 25}


def _play_everything(page: object) -> None:
    page.evaluate("document.querySelectorAll('#samples audio').forEach(a => a.play())")
    page.wait_for_function("() => [...document.querySelectorAll('#samples audio')]"
                           ".every(a => a.dataset.played === 'true')", timeout=TIMEOUT_MS)


@pytest.mark.parametrize("design", ["acr", "mushra"])
def test_rater_in_headless_chromium(tmp_path: Path, design: str) -> None:
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (Debian package `chromium`)")
    from playwright.sync_api import sync_playwright

    folders = write_systems(tmp_path, ("ref", "alpha", "beta"), items=2, seconds=0.3)
    created = create(tmp_path / "test", design,
                     {"alpha": folders["alpha"], "beta": folders["beta"]},
                     reference=folders["ref"], raters=1, attention_checks=1, seed=4)
    test = created.spec
    submitted: dict[str, list[float]] = {}
    with live_server(tmp_path / "test") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, timeout=TIMEOUT_MS,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required",
                  "--mute-audio", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{url}/r/{created.rater_tokens['r1']}")
        screens = 0
        while True:
            page.wait_for_function("() => document.body.dataset.finished === 'true' || "
                                   "(document.body.dataset.trial && !document.querySelector("
                                   "'#trial').hidden)")
            if page.evaluate("document.body.dataset.finished === 'true'"):
                break
            trial_id = page.evaluate("document.body.dataset.trial")
            trial = test.trials[trial_id]
            stimuli = page.eval_on_selector_all("#samples audio", "els => els.map(e => "
                                                "e.dataset.stimulus)")
            assert page.is_disabled("#submit")  # rating needs playing first
            if design == "acr":
                assert page.is_disabled("input[name=score][value='3']")
            else:
                assert page.is_disabled("#samples input[type=range]")
            _play_everything(page)
            if design == "acr":
                system = test.stimuli[stimuli[0]].system
                item = int(test.stimuli[stimuli[0]].item[-2:])
                score = (trial.attention.expect if trial.attention is not None
                         else ACR_SCORES[system][item])
                page.check(f"input[name=score][value='{score}']")
                if trial.attention is None:
                    submitted.setdefault(system, []).append(float(score))
            else:
                for stimulus in stimuli:
                    system = test.stimuli[stimulus].system
                    value = (trial.attention.expect if trial.attention is not None
                             else MUSHRA_SCORES[system])
                    page.fill(f"#samples input[type=range][data-stimulus='{stimulus}']",
                              str(value))
                    if trial.attention is None:
                        submitted.setdefault(system, []).append(float(value))
            page.click("#submit")
            page.wait_for_function(f"() => document.body.dataset.trial !== '{trial_id}' || "
                                   "document.body.dataset.finished === 'true'")
            screens += 1
        assert page.is_visible("text=Thank you!")
        assert screens == len(test.rater("r1").trials)
        page.reload()  # reopening the link resumes: nothing is left to do
        page.wait_for_function("() => document.body.dataset.finished === 'true'")
        assert re.search(r"(\d+) of \1 screens done", page.inner_text("#count"))
        browser.close()

    assert main(["listen", "report", str(tmp_path / "test"), "--out",
                 str(tmp_path / "report.html")]) == 0
    page_text = (tmp_path / "report.html").read_text()
    _, result = write_report(tmp_path / "test", tmp_path / "again.html")
    assert set(result.summaries) == set(submitted)
    for system, values in submitted.items():
        assert result.summaries[system].mean == pytest.approx(np.mean(values))
        assert result.summaries[system].n == len(values)
        assert f"<td>{system}</td><td>{len(values)}</td><td>{np.mean(values):.2f}</td>" \
            in page_text
    assert result.results.raters["r1"].attention_passed == 1
    assert not result.results.raters["r1"].excluded
