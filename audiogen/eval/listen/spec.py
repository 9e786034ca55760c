"""The test folder's contract: ``test.json`` (the design), ``tokens.json`` (access), ``audio/``.

A test folder holds everything the server needs and nothing else is ever served:

- ``test.json``: type, scale, stimuli (opaque id -> system, item, copied file, original path),
  trials (an item's stimuli, the open reference, an attention instruction) and, per rater, the
  order of trials and of the stimuli inside each trial.
- ``tokens.json`` (mode 0600): the admin token and one token per rater.
- ``audio/``: copies of the rated files and the generated anchors, named by stimulus id.
- ``ratings.sqlite``: the ratings (see :mod:`audiogen.eval.listen.store`).

Scores are stored as the rater answered the question shown: ACR 1..5 for the one stimulus,
MUSHRA 0..100 per stimulus, AB 1 for the chosen and 0 for the other stimulus, and CMOS -3..+3
for "the second sample compared to the first", stored on the second sample shown.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from audiogen.errors import DataError

FORMAT = 1
SPEC_NAME = "test.json"
TOKENS_NAME = "tokens.json"
AUDIO_DIR = "audio"
DB_NAME = "ratings.sqlite"
TEST_TYPES = ("acr", "cmos", "mushra", "ab")
SCORE_RANGE = {"acr": (1, 5), "cmos": (-3, 3), "mushra": (0, 100), "ab": (0, 1)}
ACR_LABELS = {5: "Excellent", 4: "Good", 3: "Fair", 2: "Poor", 1: "Bad"}
CMOS_LABELS = {3: "Much better", 2: "Better", 1: "Slightly better", 0: "About the same",
               -1: "Slightly worse", -2: "Worse", -3: "Much worse"}
MUSHRA_ATTENTION_TOLERANCE = 10
INSTRUCTIONS = {
    "acr": "Listen to the sample, then rate its overall quality on the five-point scale "
           "(ITU-T P.800 absolute category rating).",
    "cmos": "Listen to both samples, then say how the quality of Sample 2 compares with "
            "Sample 1 (ITU-T P.800 comparison category rating, -3..+3).",
    "mushra": "Listen to the reference and to every sample, then rate each sample's quality "
              "from 0 (bad) to 100 (excellent). One of the samples is the reference itself: "
              "rate it 100 when you find it (ITU-R BS.1534-3).",
    "ab": "Listen to both samples and choose the one you prefer.",
}


@dataclass(frozen=True)
class Stimulus:
    """One audio file in the test; ``source`` is the original file (None for anchors)."""

    id: str
    system: str
    item: str
    file: str
    source: str | None
    role: str  # "system", "reference" (open), "hidden_reference" or "anchor"


@dataclass(frozen=True)
class Attention:
    """An attention check: the instruction shown and the answer it asks for."""

    instruction: str
    expect: int


@dataclass(frozen=True)
class Trial:
    """One screen: an item's stimuli (in design order), an open reference, an attention check."""

    id: str
    item: str
    stimuli: list[str]
    reference: str | None = None
    attention: Attention | None = None


@dataclass(frozen=True)
class RaterPlan:
    """A rater's trials in presentation order, each with its stimuli in presentation order."""

    id: str
    trials: list[tuple[str, list[str]]]


@dataclass
class TestSpec:
    """The parsed ``test.json``."""

    __test__ = False  # not a pytest class, despite the name
    title: str
    type: str
    seed: int
    systems: dict[str, str]
    reference: str | None
    stimuli: dict[str, Stimulus]
    trials: dict[str, Trial]
    raters: list[RaterPlan]
    anchors: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: str = ""

    @property
    def score_range(self) -> tuple[int, int]:
        return SCORE_RANGE[self.type]

    def rater(self, rater_id: str) -> RaterPlan:
        for plan in self.raters:
            if plan.id == rater_id:
                return plan
        raise KeyError(rater_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "title": self.title, "type": self.type, "seed": self.seed,
            "created": self.created, "scale": list(self.score_range),
            "instructions": INSTRUCTIONS[self.type], "systems": self.systems,
            "reference": self.reference, "anchors": self.anchors,
            "stimuli": {key: asdict(value) for key, value in self.stimuli.items()},
            "trials": {key: asdict(value) for key, value in self.trials.items()},
            "raters": [{"id": plan.id, "trials": [{"trial": trial, "order": order}
                                                  for trial, order in plan.trials]}
                       for plan in self.raters],
        }


def load(test_dir: str | Path) -> TestSpec:
    """Read ``TEST_DIR/test.json``; DataError naming the file and field when it is unusable."""
    path = Path(test_dir) / SPEC_NAME
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: not found; create the test with `audiogen listen create`"
                        ) from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: invalid JSON ({error})") from None
    try:
        if raw["format"] != FORMAT:
            raise DataError(f"{path}: format {raw['format']} is not supported (expected "
                            f"{FORMAT})")
        if raw["type"] not in TEST_TYPES:
            raise DataError(f"{path}: type {raw['type']!r} is not one of {TEST_TYPES}")
        trials = {}
        for key, value in raw["trials"].items():
            attention = Attention(**value["attention"]) if value.get("attention") else None
            trials[key] = Trial(value["id"], value["item"], list(value["stimuli"]),
                                value.get("reference"), attention)
        return TestSpec(
            title=raw["title"], type=raw["type"], seed=int(raw["seed"]),
            systems=dict(raw["systems"]), reference=raw.get("reference"),
            stimuli={key: Stimulus(**value) for key, value in raw["stimuli"].items()},
            trials=trials,
            raters=[RaterPlan(plan["id"], [(entry["trial"], list(entry["order"]))
                                           for entry in plan["trials"]])
                    for plan in raw["raters"]],
            anchors=dict(raw.get("anchors", {})), created=raw.get("created", ""))
    except (KeyError, TypeError) as error:
        raise DataError(f"{path}: missing or malformed field {error}") from None


def load_tokens(test_dir: str | Path) -> dict[str, Any]:
    """``{"admin": token, "raters": {rater_id: token}}`` from ``TEST_DIR/tokens.json``."""
    path = Path(test_dir) / TOKENS_NAME
    try:
        tokens = json.loads(path.read_text())
        return {"admin": str(tokens["admin"]), "raters": dict(tokens["raters"])}
    except FileNotFoundError:
        raise DataError(f"{path}: not found") from None
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise DataError(f"{path}: malformed ({error})") from None


def attention_passed(test_type: str, attention: Attention, order: list[str],
                     scores: dict[str, float]) -> bool:
    """Whether a trial's stored scores answer its attention instruction.

    ACR and CMOS ask for one answer (CMOS: the score stored on the second sample); AB asks
    for the sample at position ``expect`` (1 or 2); MUSHRA asks for every slider within
    ``MUSHRA_ATTENTION_TOLERANCE`` of ``expect``.
    """
    if not scores:
        return False
    if test_type == "acr":
        return next(iter(scores.values())) == attention.expect
    if test_type == "cmos":
        return scores.get(order[1]) == attention.expect
    if test_type == "ab":
        return scores.get(order[attention.expect - 1]) == 1
    return all(abs(value - attention.expect) <= MUSHRA_ATTENTION_TOLERANCE
               for value in scores.values()) and len(scores) == len(order)
