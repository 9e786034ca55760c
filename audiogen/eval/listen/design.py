"""``audiogen listen create``: pair system outputs, copy audio, make anchors, randomise, tokens.

Files are paired across systems (and the reference) by relative path without suffix, as in
:mod:`audiogen.eval.pairing`; only items every system (and the reference, where the design
needs it) has are used. Designs:

- ``acr``: one trial per (system, item); the reference, when given, is rated as a system
  called ``reference``.
- ``cmos``: one trial per (system, item): the reference and the system's sample, in random
  order per rater.
- ``mushra``: one trial per item: the open reference, and as stimuli every system, the hidden
  reference and the low-pass anchors (:mod:`audiogen.eval.listen.anchors`).
- ``ab``: one trial per item and pair of systems; the reference, when given, is playable as
  an open reference.

All randomness comes from ``seed``: the item subset and stimulus ids from
``default_rng([seed, 0])``, rater ``i``'s trial order, stimulus order and attention checks from
``default_rng([seed, 1, i])``. Tokens come from :func:`secrets.token_urlsafe`.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from audiogen import audio
from audiogen.errors import AudiogenError, ConfigError, DataError
from audiogen.eval import pairing
from audiogen.eval.listen import anchors
from audiogen.eval.listen.spec import (
    ACR_LABELS,
    AUDIO_DIR,
    CMOS_LABELS,
    SPEC_NAME,
    TEST_TYPES,
    TOKENS_NAME,
    Attention,
    RaterPlan,
    Stimulus,
    TestSpec,
    Trial,
)
from audiogen.utils import atomic_write, atomic_write_json

REFERENCE = "reference"
HIDDEN_REFERENCE = "hidden_reference"
RESERVED = {REFERENCE, HIDDEN_REFERENCE, *anchors.CUTOFFS_HZ}


@dataclass(frozen=True)
class Created:
    """What :func:`create` made: the spec, the tokens and the printed links."""

    spec: TestSpec
    admin_token: str
    rater_tokens: dict[str, str]
    links: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item, why) left out


def create(out: str | os.PathLike, test_type: str, systems: Mapping[str, str | os.PathLike],
           reference: str | os.PathLike | None = None, items: int | None = None, seed: int = 0,
           raters: int = 10, attention_checks: int = 1, title: str = "Listening test",
           base_url: str = "http://127.0.0.1:8000") -> Created:
    """Build a test folder at ``out``; see the module docstring for the designs."""
    out = Path(out)
    _check_arguments(out, test_type, systems, reference, raters, attention_checks, items)
    sources = {name: pairing.collect(path) for name, path in systems.items()}
    ref_items = pairing.collect(reference) if reference is not None else None
    keys = set.intersection(*(set(found) for found in sources.values()))
    if ref_items is not None:
        keys &= set(ref_items)
    if not keys:
        raise DataError("no item is present in every system" +
                        (" and the reference" if ref_items is not None else "") +
                        " (items are paired by relative path without suffix)")
    skipped = _unplayable(keys, [*sources.values(), *([ref_items] if ref_items else [])])
    keys -= {key for key, _ in skipped}
    if not keys:
        raise DataError(f"no item is playable in every system; first: {skipped[0][1]}")
    design_rng = np.random.default_rng([seed, 0])
    chosen = sorted(keys)
    if items is not None and items < len(chosen):
        chosen = sorted(design_rng.choice(chosen, size=items, replace=False).tolist())

    audio_dir = out / AUDIO_DIR
    audio_dir.mkdir(parents=True, exist_ok=True)
    maker = _StimulusMaker(audio_dir, design_rng)
    trials, anchor_cards = _build_trials(test_type, chosen, sources, ref_items, maker)
    main_trials = list(trials.values())
    plans = [_rater_plan(f"r{index + 1:0{len(str(raters))}d}", main_trials, trials, test_type,
                         np.random.default_rng([seed, 1, index]), attention_checks)
             for index in range(raters)]
    spec = TestSpec(
        title=title, type=test_type, seed=seed,
        systems={name: str(Path(path).resolve()) for name, path in systems.items()},
        reference=str(Path(reference).resolve()) if reference is not None else None,
        stimuli=maker.stimuli, trials=trials, raters=plans, anchors=anchor_cards,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    admin = secrets.token_urlsafe(24)
    rater_tokens = {plan.id: secrets.token_urlsafe(24) for plan in plans}
    atomic_write_json(out / SPEC_NAME, spec.to_json())
    _write_private(out / TOKENS_NAME, {"admin": admin, "raters": rater_tokens})
    base = base_url.rstrip("/")
    links = [f"admin: {base}/admin/{admin}"] + [f"{rater}: {base}/r/{token}"
                                                 for rater, token in rater_tokens.items()]
    _write_private(out / "links.txt", "\n".join(links) + "\n")
    return Created(spec, admin, rater_tokens, links, skipped)


def _unplayable(keys: set[str], sources: list[dict[str, pairing.Item]]
                ) -> list[tuple[str, str]]:
    """(item, reason) for each item whose audio in some source cannot be read, is empty,
    holds NaN/Inf, or is longer than :func:`audiogen.audio.max_seconds`: a rater's browser
    would fail on it or a rater would wait for it."""
    skipped = []
    for key in sorted(keys):
        for found in sources:
            try:
                audio.load(found[key].path, channels="keep")
            except AudiogenError as error:
                skipped.append((key, str(error)))
                break
    return skipped


def _check_arguments(out: Path, test_type: str, systems: Mapping[str, str | os.PathLike],
                     reference: str | os.PathLike | None, raters: int, attention_checks: int,
                     items: int | None) -> None:
    if test_type not in TEST_TYPES:
        raise ConfigError(f"--type {test_type!r}: choose one of {', '.join(TEST_TYPES)}")
    if not systems:
        raise ConfigError("--system NAME=DIR: give at least one system")
    clashes = RESERVED & set(systems)
    if clashes:
        raise ConfigError(f"--system: the names {sorted(clashes)} are reserved")
    if test_type in ("cmos", "mushra") and reference is None:
        raise ConfigError(f"--ref: a {test_type.upper()} test needs reference audio")
    if test_type == "ab" and len(systems) < 2:
        raise ConfigError("--system: an AB test needs at least two systems")
    if raters < 1:
        raise ConfigError(f"--raters {raters}: need at least one rater")
    if attention_checks < 0:
        raise ConfigError(f"--attention-checks {attention_checks}: must be >= 0")
    if items is not None and items < 1:
        raise ConfigError(f"--items {items}: must be >= 1")
    if (out / SPEC_NAME).exists():
        raise ConfigError(f"{out / SPEC_NAME}: a test already exists here; choose a new folder")


class _StimulusMaker:
    """Copies or synthesises stimulus audio under opaque random ids."""

    def __init__(self, audio_dir: Path, rng: np.random.Generator) -> None:
        self.audio_dir = audio_dir
        self.rng = rng
        self.stimuli: dict[str, Stimulus] = {}

    def _new_id(self) -> str:
        while (stimulus_id := self.rng.bytes(8).hex()) in self.stimuli:
            pass
        return stimulus_id

    def copy(self, system: str, item: pairing.Item, role: str) -> str:
        stimulus_id = self._new_id()
        name = stimulus_id + item.path.suffix.lower()
        source = item.path.resolve()
        def copy(tmp: str) -> None:
            shutil.copyfile(source, tmp)

        atomic_write(self.audio_dir / name, copy)
        self.stimuli[stimulus_id] = Stimulus(stimulus_id, system, item.key, f"{AUDIO_DIR}/{name}",
                                             str(source), role)
        return stimulus_id

    def anchor(self, name: str, cutoff_hz: float, item: pairing.Item) -> str:
        wave, rate = audio.load(item.path, channels="keep")
        filtered = np.clip(anchors.low_pass(wave.numpy(), rate, cutoff_hz), -1.0, 1.0)
        stimulus_id = self._new_id()
        file = f"{stimulus_id}.wav"
        audio.save(self.audio_dir / file, filtered, rate, subtype="PCM_16")
        self.stimuli[stimulus_id] = Stimulus(stimulus_id, name, item.key, f"{AUDIO_DIR}/{file}",
                                             None, "anchor")
        return stimulus_id


def _build_trials(test_type: str, keys: list[str], sources: dict[str, dict[str, pairing.Item]],
                  reference: dict[str, pairing.Item] | None, maker: _StimulusMaker
                  ) -> tuple[dict[str, Trial], dict[str, dict[str, object]]]:
    trials: list[Trial] = []
    anchor_cards: dict[str, dict[str, object]] = {}

    def add(item: str, stimuli: list[str], open_reference: str | None = None) -> None:
        trials.append(Trial(f"t{len(trials) + 1:04d}", item, stimuli, open_reference))

    for key in keys:
        systems = {name: maker.copy(name, found[key], "system") for name, found in
                   sources.items()}
        if test_type == "acr":
            if reference is not None:
                systems[REFERENCE] = maker.copy(REFERENCE, reference[key], "reference")
            for stimulus in systems.values():
                add(key, [stimulus])
        elif test_type == "cmos":
            assert reference is not None
            shown_reference = maker.copy(REFERENCE, reference[key], "reference")
            for stimulus in systems.values():
                add(key, [shown_reference, stimulus])
        elif test_type == "ab":
            open_reference = (maker.copy(REFERENCE, reference[key], "reference")
                              if reference is not None else None)
            for first, second in itertools.combinations(systems.values(), 2):
                add(key, [first, second], open_reference)
        else:
            assert reference is not None
            open_reference = maker.copy(REFERENCE, reference[key], "reference")
            stimuli = list(systems.values())
            stimuli.append(maker.copy(HIDDEN_REFERENCE, reference[key], "hidden_reference"))
            rate = audio.info(reference[key].path)[0]
            for name, cutoff in anchors.usable(rate).items():
                stimuli.append(maker.anchor(name, cutoff, reference[key]))
                anchor_cards[name] = {"cutoff_hz": cutoff, "filter": anchors.DESCRIPTION}
            add(key, stimuli, open_reference)
    return {trial.id: trial for trial in trials}, anchor_cards


def _rater_plan(rater: str, trials: list[Trial], table: dict[str, Trial], test_type: str,
                rng: np.random.Generator, attention_checks: int) -> RaterPlan:
    """Shuffle trials and stimuli for one rater and insert its attention checks."""
    order = [trials[index] for index in rng.permutation(len(trials))]
    for number in range(1, attention_checks + 1):
        base = trials[int(rng.integers(len(trials)))]
        check = Trial(f"c-{rater}-{number}", base.item, base.stimuli, base.reference,
                      _attention(test_type, rng))
        table[check.id] = check
        order.insert(int(rng.integers(1, len(order) + 1)), check)
    return RaterPlan(rater, [(trial.id, [trial.stimuli[index] for index in
                                         rng.permutation(len(trial.stimuli))])
                             for trial in order])


def _attention(test_type: str, rng: np.random.Generator) -> Attention:
    """An instruction asking for one specific answer, drawn from ``rng``."""
    if test_type == "acr":
        score = int(rng.integers(1, 6))
        return Attention(f"Attention check: whatever you hear, answer \"{score} - "
                         f"{ACR_LABELS[score]}\" for this sample.", score)
    if test_type == "cmos":
        score = int(rng.choice([-3, -2, 2, 3]))
        return Attention(f"Attention check: whatever you hear, answer \"{score:+d} - "
                         f"{CMOS_LABELS[score]}\" for this pair.", score)
    if test_type == "ab":
        position = int(rng.integers(1, 3))
        return Attention(f"Attention check: whatever you hear, choose Sample {position}.",
                         position)
    value = int(rng.choice([0, 100]))
    return Attention(f"Attention check: whatever you hear, move every slider of this screen "
                     f"to {value}.", value)


def _write_private(path: Path, value: object) -> None:
    """Write JSON or text atomically with mode 0600 from the start (tokens are secrets)."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2) + "\n"
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
