"""Prompts: sets of labels with a text form, ``"digit=7 speaker=jackson"``.

A :class:`Vocabulary` names the labels a model is conditioned on, the values each may take and
the manifest field each is read from in training. It is built from the task's config
(``labels:``), so it travels with every checkpoint and is stored in the model's spec. A prompt
may leave labels out (they take the learned null embedding, as in classifier-free guidance
training); an unknown label or value is refused with the valid ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from audiogen.errors import AudiogenError, ConfigError, DataError
from audiogen.nn.labels import NULL


class PromptError(AudiogenError):
    """A prompt names a label or value the model does not know."""


@dataclass(frozen=True)
class Label:
    """One label: its ``name`` in prompts, its ``values`` (as text) and the manifest ``field``
    it is read from: ``speaker``, ``label`` (the whole label), ``label.KEY`` (a key of a dict
    label, as ``gm_notes`` writes) or any extra field."""

    name: str
    values: tuple[str, ...]
    field: str

    def index(self, value: Any) -> int:
        """Position of ``value`` (compared as text) in :attr:`values`; PromptError if absent."""
        text = str(value)
        if text not in self.values:
            raise PromptError(f"unknown value {text!r} for label {self.name!r}; valid values: "
                              f"{', '.join(self.values)}")
        return self.values.index(text)


class Vocabulary:
    """The labels of a prompt-conditioned model, in a fixed order.

    ``labels`` maps each name to ``{"values": [...], "field": "..."}`` (``field`` defaults to
    the name), the form a config writes::

        labels:
          digit: {field: label, values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}
          speaker: {values: [george, jackson, lucas, nicolas, theo, yweweler]}
    """

    def __init__(self, labels: Mapping[str, Mapping[str, Any]]) -> None:
        self.labels: list[Label] = []
        for name, entry in labels.items():
            if not isinstance(entry, Mapping) or "values" not in entry:
                raise ConfigError(f"labels.{name}: expected a mapping with 'values' (and "
                                  f"optionally 'field'), got {entry!r}")
            unknown = set(entry) - {"values", "field"}
            if unknown:
                raise ConfigError(f"labels.{name}: unknown key(s) {', '.join(sorted(unknown))}; "
                                  "valid keys: field, values")
            values = tuple(str(value) for value in entry["values"])
            if not values or len(set(values)) != len(values):
                raise ConfigError(f"labels.{name}.values must be distinct and not empty")
            self.labels.append(Label(str(name), values, str(entry.get("field", name))))

    @property
    def names(self) -> list[str]:
        return [label.name for label in self.labels]

    @property
    def sizes(self) -> list[int]:
        """Number of values of each label (what an embedding table needs)."""
        return [len(label.values) for label in self.labels]

    @property
    def spec(self) -> dict[str, list[str]]:
        """Label name -> its values, in order: what a model's ids mean."""
        return {label.name: list(label.values) for label in self.labels}

    def describe(self) -> str:
        """``digit=0|1|...; speaker=george|...``: the valid prompts, for messages and help."""
        return "; ".join(f"{label.name}={'|'.join(label.values)}" for label in self.labels)

    def parse(self, prompt: str | Mapping[str, Any] | None) -> dict[str, str]:
        """``"digit=7 speaker=jackson"`` (or a mapping, or None/"" for no labels) -> the
        checked ``{name: value}``; PromptError naming the valid labels or values."""
        if prompt is None:
            return {}
        if isinstance(prompt, Mapping):
            pairs = [(str(name), str(value)) for name, value in prompt.items()]
        else:
            pairs = []
            for word in prompt.replace(",", " ").split():
                name, separator, value = word.partition("=")
                if not separator or not name or not value:
                    raise PromptError(f"prompt {prompt!r}: {word!r} is not label=value; valid "
                                      f"labels: {self.describe()}")
                pairs.append((name, value))
        parsed: dict[str, str] = {}
        for name, value in pairs:
            label = self.label(name)
            if name in parsed:
                raise PromptError(f"prompt {prompt!r} gives label {name!r} twice")
            parsed[name] = label.values[label.index(value)]
        return parsed

    def label(self, name: str) -> Label:
        for label in self.labels:
            if label.name == name:
                return label
        raise PromptError(f"unknown label {name!r}; valid labels: "
                          f"{', '.join(self.names) or '(none: an unconditional model)'}")

    def format(self, prompt: Mapping[str, str]) -> str:
        """The text form of a parsed prompt, labels in vocabulary order."""
        return " ".join(f"{name}={prompt[name]}" for name in self.names if name in prompt)

    def encode(self, prompts: Sequence[str | Mapping[str, Any] | None]) -> torch.Tensor:
        """Prompts -> ids (B, L) int64, :data:`~audiogen.nn.labels.NULL` for left-out labels."""
        rows = []
        for prompt in prompts:
            parsed = self.parse(prompt)
            rows.append([label.index(parsed[label.name]) if label.name in parsed else NULL
                         for label in self.labels])
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(self.labels))

    def encode_batch(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """Ids (B, L) of a training batch from its manifest fields (``speakers``, ``labels``
        and ``extras`` of :func:`audiogen.data.dataset.collate`); DataError for a value the
        vocabulary lacks, naming the item."""
        rows = []
        for index, item_id in enumerate(batch["ids"]):
            row = []
            for label in self.labels:
                value = field_value(batch, index, label.field)
                if str(value) not in label.values:
                    raise DataError(f"item {item_id!r}: {label.field} = {value!r} is not a "
                                    f"value of label {label.name!r} ({', '.join(label.values)})")
                row.append(label.values.index(str(value)))
            rows.append(row)
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(self.labels))


def field_value(batch: Mapping[str, Any], index: int, field: str) -> Any:
    """The manifest field ``field`` of item ``index`` of a collated batch: ``speaker``,
    ``label``, ``label.KEY`` or an extra field of the manifest row."""
    if field == "speaker":
        return batch["speakers"][index]
    head, _, key = field.partition(".")
    if head == "label":
        label = batch["labels"][index]
        if not key:
            return label
        if isinstance(label, Mapping) and key in label:
            return label[key]
        raise DataError(f"item {batch['ids'][index]!r}: its label {label!r} has no key {key!r}")
    extra = batch.get("extras", [{}] * len(batch["ids"]))[index]
    if field not in extra:
        raise DataError(f"item {batch['ids'][index]!r}: no manifest field {field!r}")
    return extra[field]
