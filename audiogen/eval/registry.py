"""The metric registry: metric name -> :class:`Metric`, group -> scorer class, and the builder.

Options reach a group's scorer by prefix: ``pitch_model="tiny"`` is the ``model`` argument of the
``pitch`` group's scorer; ``fad_embedding``, ``fad_weights``, ``utmos_checkpoint``,
``quality_checkpoint``, ``speaker_classifier``, ``generation_classifier``, ``units_kmeans``
likewise.
String values (from a command line) are converted to the argument's annotated type when that is
(optionally) a bool, int or float.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, Iterable, Sequence

from audiogen.errors import ConfigError
from audiogen.eval import (
    cepstrum,
    fad,
    generation,
    intrusive,
    mos,
    pitch,
    quality,
    speaker,
    spectral,
    unit_error,
)
from audiogen.eval.base import Metric, Scorer, SetScorer

METRICS: dict[str, Metric] = {
    metric.name: metric
    for module in (intrusive, spectral, cepstrum, pitch, mos, fad, generation, quality,
                   speaker, unit_error)
    for metric in module.METRICS
}
SCORERS: dict[str, Callable[..., Scorer | SetScorer]] = {
    "pesq_wb": intrusive.Pesq,
    "pesq_nb": intrusive.Pesq,
    "stoi": intrusive.Stoi,
    "estoi": intrusive.Stoi,
    "waveform": intrusive.Waveform,
    "spectral": spectral.Spectral,
    "mcd": cepstrum.MelCepstralDistortion,
    "pitch": pitch.CrepePitch,
    "dnsmos": mos.Dnsmos,
    "plcmos": mos.Plcmos,
    "utmos": mos.Utmos,
    "fad": fad.FrechetAudioDistance,
    "generation": generation.GenerationScorer,
    "quality": quality.QualityPredictorScorer,
    "speaker": speaker.SpeakerScorer,
    "units": unit_error.UnitErrorRate,
}


def resolve(names: Iterable[str]) -> list[Metric]:
    """Metrics by name, in the given order without repeats; unknown names raise ConfigError."""
    names = list(dict.fromkeys(names))
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(map(repr, unknown))}; valid metrics: "
                          f"{', '.join(METRICS)}")
    if not names:
        raise ConfigError(f"no metric requested; valid metrics: {', '.join(METRICS)}")
    return [METRICS[name] for name in names]


def option_names() -> dict[str, list[str]]:
    """Valid ``<group>_<argument>`` options of every group."""
    return {group: [f"{group}_{name}" for name in _arguments(factory)]
            for group, factory in SCORERS.items()}


def build(metrics: Sequence[Metric], options: dict[str, Any] | None = None
          ) -> list[Scorer | SetScorer]:
    """One scorer per group of ``metrics`` (models load here, once), configured by prefixed
    ``options``; options of groups not requested are ignored, unknown ones raise ConfigError."""
    options = dict(options or {})
    valid = {name for names in option_names().values() for name in names}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ConfigError(f"unknown metric option(s) {', '.join(unknown)}; valid options: "
                          f"{', '.join(sorted(valid))}")
    groups: dict[str, list[Metric]] = {}
    for metric in metrics:
        groups.setdefault(metric.group, []).append(metric)
    scorers = []
    for group, members in groups.items():
        types = _scalar_types(SCORERS[group])
        arguments = {name: _coerce(options[f"{group}_{name}"], types.get(name), f"{group}_{name}")
                     for name in _arguments(SCORERS[group]) if f"{group}_{name}" in options}
        scorers.append(SCORERS[group](members, **arguments))
    return scorers


def _arguments(factory: Callable[..., Any]) -> list[str]:
    """Keyword arguments of a scorer after ``metrics``."""
    parameters = list(inspect.signature(factory).parameters.values())[1:]
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _scalar_types(factory: Callable[..., Any]) -> dict[str, type]:
    """Arguments annotated bool, int or float (optionally with None) and that type."""
    hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    scalars: dict[str, type] = {}
    for name, hint in hints.items():
        members = typing.get_args(hint) or (hint,)
        found = [kind for kind in (bool, int, float) if kind in members]
        if found:
            scalars[name] = found[0]
    return scalars


def _coerce(value: Any, kind: type | None, name: str) -> Any:
    """Convert a string option to ``kind`` (bool, int or float); other values pass through."""
    if not isinstance(value, str) or kind is None:
        return value
    if kind is bool:
        words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if value.lower() not in words:
            raise ConfigError(f"option {name} must be true or false, got {value!r}")
        return words[value.lower()]
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"option {name} must be {kind.__name__}, got {value!r}") from None
