"""Prompts: text form, left-out labels, errors that list the valid labels and values, and the
labels of a training batch read from manifest fields."""

from __future__ import annotations

import pytest
import torch

from audiogen.errors import AudiogenError, ConfigError, DataError
from audiogen.tasks.prompts import PromptError, Vocabulary

DIGITS = Vocabulary({"digit": {"field": "label", "values": list(range(10))},
                     "speaker": {"values": ["george", "jackson"]}})
NOTES = Vocabulary({"program": {"field": "label.program", "values": [0, 24]},
                    "pitch": {"field": "label.pitch", "values": [60, 72]},
                    "velocity": {"field": "label.velocity", "values": [50, 100]}})


def test_prompts_parse_and_may_leave_labels_out() -> None:
    assert DIGITS.parse("digit=7 speaker=jackson") == {"digit": "7", "speaker": "jackson"}
    assert DIGITS.parse("speaker=george, digit=0") == {"speaker": "george", "digit": "0"}
    assert DIGITS.parse({"digit": 3}) == {"digit": "3"}
    assert DIGITS.parse("") == {} and DIGITS.parse(None) == {}
    ids = DIGITS.encode(["digit=7 speaker=jackson", "digit=7", "speaker=george", ""])
    assert ids.tolist() == [[7, 1], [7, -1], [-1, 0], [-1, -1]] and ids.dtype == torch.long
    assert NOTES.encode(["program=24 pitch=60 velocity=100"]).tolist() == [[1, 0, 1]]
    assert DIGITS.format({"speaker": "george", "digit": "0"}) == "digit=0 speaker=george"


@pytest.mark.parametrize("prompt,message", [
    ("digit=12", r"unknown value '12' for label 'digit'; valid values: 0, 1, .*, 9"),
    ("speaker=bob", r"valid values: george, jackson"),
    ("pitch=60", r"unknown label 'pitch'; valid labels: digit, speaker"),
    ("seven", r"'seven' is not label=value; valid labels: digit=0\|1.*speaker=george\|jackson"),
    ("digit=1 digit=2", r"gives label 'digit' twice"),
])
def test_bad_prompts_name_the_valid_labels_and_values(prompt: str, message: str) -> None:
    with pytest.raises(PromptError, match=message) as info:
        DIGITS.encode([prompt])
    assert isinstance(info.value, AudiogenError) and "\n" not in str(info.value)


def test_vocabulary_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="labels.digit: unknown key"):
        Vocabulary({"digit": {"values": [1], "feld": "label"}})
    with pytest.raises(ConfigError, match="distinct"):
        Vocabulary({"digit": {"values": [1, 1]}})
    with pytest.raises(ConfigError, match="'values'"):
        Vocabulary({"digit": [1, 2]})  # type: ignore[dict-item]


def test_batch_labels_come_from_manifest_fields() -> None:
    batch = {"ids": ["a", "b"], "speakers": ["jackson", "george"], "labels": [7, 0],
             "extras": [{}, {}]}
    assert DIGITS.encode_batch(batch).tolist() == [[7, 1], [0, 0]]
    notes = {"ids": ["n"], "speakers": ["guitar"], "extras": [{}],
             "labels": [{"program": 24, "pitch": 72, "velocity": 50}]}
    assert NOTES.encode_batch(notes).tolist() == [[1, 1, 0]]
    with pytest.raises(DataError, match="item 'b': speaker = 'theo' is not a value of label "
                       "'speaker'"):
        DIGITS.encode_batch({**batch, "speakers": ["jackson", "theo"]})
    with pytest.raises(DataError, match="item 'n'.*no key 'pitch'"):
        NOTES.encode_batch({**notes, "labels": [{"program": 24}]})
