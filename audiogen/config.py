"""YAML configs that only name classes: ``base:`` includes, overrides, typed instantiation.

A config node ``{"_target_": "pkg.mod.Class", "arg": value}`` is built by calling
``Class(arg=value)`` after every argument is checked against the constructor's signature and
type hints; unknown keys, missing arguments and wrong types raise :class:`ConfigError` naming
the key path and the valid choices.
YAML is parsed with ``yaml.safe_load`` (no code executes) and ``_target_`` must live in an allowed
package.
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import functools
import importlib
import inspect
import os
import types
import typing
from pathlib import Path
from typing import Any, Iterable

import yaml

from audiogen.errors import ConfigError

ALLOWED_TARGET_PACKAGES = ("audiogen.", "torch.")


def load(path: str | os.PathLike, overrides: Iterable[str] = ()) -> dict:
    """Read a YAML config, resolving ``base:`` includes (relative paths), then overrides."""
    config = _load_with_bases(Path(path), seen=())
    for override in overrides:
        apply_override(config, override)
    return interpolate(config)


def interpolate(config: dict) -> dict:
    """Replace every string ``"${a.b.c}"`` by the value at that key path (so a number is
    written once: ``in_channels: ${task.representation.n_mels}``)."""

    def resolve(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            return {k: resolve(v, trail) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, trail) for v in node]
        if isinstance(node, str) and node.startswith("${") and node.endswith("}"):
            reference = node[2:-1]
            if reference in trail:
                raise ConfigError(f"circular reference {' -> '.join(trail + (reference,))}")
            missing = object()
            value = get(config, reference, missing)
            if value is missing:
                raise ConfigError(f"reference ${{{reference}}}: no such key in the config")
            return resolve(value, trail + (reference,))
        return node

    return resolve(config, ())


def _load_with_bases(path: Path, seen: tuple[Path, ...]) -> dict:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: circular base include")
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        node = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML ({error})") from None
    if not isinstance(node, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    bases = node.pop("base", [])
    merged: dict = {}
    for base in [bases] if isinstance(bases, str) else bases:
        merged = merge(merged, _load_with_bases(path.parent / base, seen + (path,)))
    return merge(merged, node)


def merge(base: dict, update: dict) -> dict:
    """Deep-merge ``update`` into a copy of ``base``; a node naming another ``_target_`` than
    the base node's replaces it whole (its old arguments would not fit the new class)."""
    result = copy.deepcopy(base)
    for key, value in update.items():
        old = result.get(key)
        replaces = isinstance(value, dict) and isinstance(old, dict) and \
            "_target_" in value and "_target_" in old and old["_target_"] != value["_target_"]
        if isinstance(value, dict) and isinstance(old, dict) and not replaces:
            result[key] = merge(old, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def apply_override(config: dict, override: str) -> None:
    """Set ``a.b.c=value`` in place; the value is parsed as YAML (``1e-4``, ``null``)."""
    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like key.path=value")
    dotted, raw = override.split("=", 1)
    keys = dotted.strip().split(".")
    value = parse_value(raw)
    node = config
    for depth, key in enumerate(keys[:-1]):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"override {dotted}: {'.'.join(keys[:depth + 1])} is not a mapping")
        node = child
    node[keys[-1]] = value


def parse_value(raw: str) -> Any:
    """Parse a command-line value as YAML, reading ``1e-4`` as a float (YAML 1.1 would not)."""
    try:
        return float(raw) if "e" in raw.lower() and not raw.isalpha() else yaml.safe_load(raw)
    except ValueError:
        pass
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def get(config: dict, dotted: str, default: Any = None) -> Any:
    """Read ``a.b.c`` from a nested mapping, or ``default`` when any part is missing."""
    node: Any = config
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def dump(config: dict, path: str | os.PathLike) -> None:
    """Write a resolved config as YAML (atomically)."""
    from audiogen.utils import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(config, sort_keys=False))


def locate(target: str, where: str = "_target_") -> Any:
    """Import ``pkg.mod.Name`` from an allowed package."""
    if not isinstance(target, str) or not target.startswith(ALLOWED_TARGET_PACKAGES):
        raise ConfigError(f"{where}: {target!r} is not in an allowed package "
                          f"({', '.join(p.rstrip('.') for p in ALLOWED_TARGET_PACKAGES)})")
    module_name, _, attr = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError):
        raise ConfigError(f"{where}: cannot import {target!r}") from None


def instantiate(node: Any, where: str = "config", **extra: Any) -> Any:
    """Build objects from ``_target_`` nodes recursively; other values pass through.

    ``extra`` keyword arguments are passed to the top-level target (objects made by code,
    such as a representation the caller already built).
    """
    if isinstance(node, list):
        return [instantiate(item, f"{where}[{i}]") for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    if "_target_" not in node:
        return {key: instantiate(value, f"{where}.{key}") for key, value in node.items()}
    target = locate(node["_target_"], f"{where}._target_")
    kwargs = {key: instantiate(value, f"{where}.{key}")
              for key, value in node.items() if key not in ("_target_", "_partial_")}
    kwargs.update(extra)
    if node.get("_partial_"):
        check_arguments(target, kwargs, where, partial=True)
        return functools.partial(build, target, kwargs, where)
    return build(target, kwargs, where)


def build(target: Any, kwargs: dict, where: str = "config", **late: Any) -> Any:
    """Call ``target(**kwargs, **late)`` after checking names and types against its signature.

    ``late`` arguments come from code that completes a ``_partial_: true`` node (a task passing
    sizes it derives from its representation, so the config writes each number once).
    """
    kwargs = {**kwargs, **late}
    check_arguments(target, kwargs, where)
    try:
        return target(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from None


def check_arguments(target: Any, kwargs: dict, where: str, partial: bool = False) -> None:
    """Refuse unknown or missing arguments and values whose type contradicts the type hints
    (missing ones are allowed for a ``partial`` node, to be supplied by code)."""
    signature = inspect.signature(target)
    params = signature.parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = {name: p for name, p in params.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name != "self"}
    if not accepts_any:
        for key in kwargs:
            if key not in named:
                raise ConfigError(f"{where}: unknown key {key!r}; valid keys: "
                                  f"{', '.join(sorted(named)) or '(none)'}")
    for name, param in named.items():
        if param.default is param.empty and name not in kwargs and not partial:
            raise ConfigError(f"{where}: missing required key {name!r}")
    hints = _type_hints(target)
    for key, value in kwargs.items():
        if key in hints and not _matches(value, hints[key]):
            raise ConfigError(f"{where}.{key}: expected {_type_name(hints[key])}, "
                              f"got {type(value).__name__} {value!r}"[:300])


def _type_hints(target: Any) -> dict:
    function = target.__init__ if inspect.isclass(target) else target
    try:
        return typing.get_type_hints(function)
    except Exception:  # unresolved forward references: skip type checks rather than guess
        return {}


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple, collections.abc.Sequence, collections.abc.Iterable) or \
            hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if args and origin is not tuple:
            return all(_matches(item, args[0]) for item in value)
        return True
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            return True
        return isinstance(value, hint)
    return True


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
