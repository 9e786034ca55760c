"""JSON Lines manifests: one utterance a line.

Fields: ``id`` (unique, defaults to the relative path without suffix), ``path`` (relative to the
manifest's folder, or absolute), ``duration`` (seconds), ``sample_rate``, ``speaker``, and optional
``text`` and ``label``. Unknown extra fields are kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from audiogen.errors import DataError
from audiogen.utils import atomic_write_text

REQUIRED_FIELDS = ("path", "duration", "sample_rate", "speaker")


@dataclass
class Utterance:
    """One manifest entry; ``path`` is resolved to an absolute path when read."""

    id: str
    path: str
    duration: float
    sample_rate: int
    speaker: str
    text: str | None = None
    label: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, relative_to: Path | None = None) -> dict[str, Any]:
        """A manifest line; ``path`` relative to ``relative_to`` when it lies below it."""
        row = {k: v for k, v in asdict(self).items() if k != "extra" and v is not None}
        if relative_to is not None:
            try:
                row["path"] = os.path.relpath(self.path, relative_to)
            except ValueError:
                pass
        row.update(self.extra)
        return row


def read(path: str | os.PathLike) -> list[Utterance]:
    """Read a manifest; a malformed line raises :class:`DataError` naming file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: manifest not found")
    return list(iter_manifest(path))


def iter_manifest(path: Path) -> Iterator[Utterance]:
    """Yield utterances of a manifest one by one (see :func:`read`)."""
    root = path.resolve().parent
    seen: set[str] = set()
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{where}: invalid JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{where}: each line must be a JSON object")
            utterance = _parse(row, root, where)
            if utterance.id in seen:
                raise DataError(f"{where}: duplicate id {utterance.id!r}")
            seen.add(utterance.id)
            yield utterance


def _parse(row: dict, root: Path, where: str) -> Utterance:
    for name in REQUIRED_FIELDS:
        if name not in row:
            raise DataError(f"{where}: missing field {name!r}")
    try:
        duration = float(row["duration"])
        sample_rate = int(row["sample_rate"])
    except (TypeError, ValueError):
        raise DataError(f"{where}: field 'duration' or 'sample_rate' is not a number") from None
    if duration < 0 or sample_rate <= 0:
        raise DataError(f"{where}: 'duration' must be >= 0 and 'sample_rate' > 0")
    raw_path = str(row["path"])
    resolved = Path(raw_path) if os.path.isabs(raw_path) else root / raw_path
    known = {"id", "path", "duration", "sample_rate", "speaker", "text", "label"}
    return Utterance(
        id=str(row.get("id") or Path(raw_path).with_suffix("").as_posix()),
        path=str(resolved), duration=duration, sample_rate=sample_rate,
        speaker=str(row["speaker"]), text=row.get("text"), label=row.get("label"),
        extra={k: v for k, v in row.items() if k not in known},
    )


def write(path: str | os.PathLike, utterances: Iterable[Utterance], relative: bool = True
          ) -> Path:
    """Write a manifest atomically; paths relative to its folder, or absolute when
    ``relative`` is off (manifests that point into a corpus left where it lies)."""
    path = Path(path)
    root = path.resolve().parent if relative else None
    lines = [json.dumps(u.to_json(relative_to=root), ensure_ascii=False) for u in utterances]
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def summary(utterances: list[Utterance]) -> dict[str, Any]:
    """Counts for reports: files, hours, speakers, sample rates."""
    return {
        "files": len(utterances),
        "hours": round(sum(u.duration for u in utterances) / 3600.0, 4),
        "speakers": sorted({u.speaker for u in utterances}),
        "sample_rates": sorted({u.sample_rate for u in utterances}),
    }
