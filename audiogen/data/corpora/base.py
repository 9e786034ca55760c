"""The corpus builder interface and the machinery every builder shares.

A builder is a dataclass whose fields are its options. It implements :meth:`CorpusBuilder.collect`
(fetch the sources, convert or index the audio, return utterances and skipped files);
:meth:`CorpusBuilder.build` adds the rest: a deterministic train/valid/test split, manifests
``DIR/{train,valid,test}.jsonl``, the list of skipped files ``DIR/skipped.txt``, the stamp
``DIR/.done.json`` that makes a second build with the same options a verified no-op, and a
printed summary. The helpers at the end fetch sources: Debian packages and checksummed archives.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import time
import urllib.request
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from tqdm import tqdm

from audiogen import audio
from audiogen.data import manifest
from audiogen.data.manifest import Utterance
from audiogen.errors import AudioError, DataError
from audiogen.utils import atomic_write, atomic_write_json, atomic_write_text, file_sha256

SPLITS = ("train", "valid", "test")
STAMP_NAME = ".done.json"
SKIPPED_NAME = "skipped.txt"
STAMP_VERSION = 1

Item = TypeVar("Item")
# Refuse absolute paths and links out of the archive where tarfile supports it (3.10.12+).
_SAFE_EXTRACTION: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


@dataclass(frozen=True)
class SkippedFile:
    """A source file left out of the corpus, with the reason."""

    path: str
    error: str


@dataclass
class Collected:
    """What a builder's :meth:`CorpusBuilder.collect` found: usable utterances and skipped files."""

    utterances: list[Utterance]
    skipped: list[SkippedFile] = field(default_factory=list)


@dataclass
class BuildReport:
    """Outcome of a build: files per split, hours, speakers, skipped files, no-op or not."""

    corpus: str
    out: Path
    files: dict[str, int]
    hours: float
    speakers: list[str]
    skipped: list[SkippedFile] = field(default_factory=list)
    no_op: bool = False
    seconds: float = 0.0

    @property
    def total_files(self) -> int:
        """Number of utterances over all splits."""
        return sum(self.files.values())

    def summary(self) -> str:
        """A short human-readable account of the build."""
        splits = ", ".join(f"{split} {count}" for split, count in self.files.items())
        speakers = ", ".join(self.speakers[:6]) + (" ..." if len(self.speakers) > 6 else "")
        state = "already built, verified" if self.no_op else f"built in {self.seconds:.1f} s"
        lines = [
            f"{self.corpus}: {self.total_files} files ({splits}), {self.hours:.3f} h, "
            f"{len(self.speakers)} speakers ({speakers})",
            f"  {state} -> {self.out}",
        ]
        if self.skipped:
            listing = self.out / SKIPPED_NAME
            lines.append(f"  {len(self.skipped)} files skipped, listed in {listing}")
        return "\n".join(lines)


@dataclass
class CorpusBuilder:
    """Base of corpus builders; subclasses are dataclasses whose fields are the build options.

    Subclasses set ``name`` and implement :meth:`collect`; they may override
    :meth:`assign_splits`. ``relative_paths = False`` writes absolute paths in the manifests, for
    corpora whose audio is referenced in place rather than written below the output folder.
    """

    name: ClassVar[str]
    relative_paths: ClassVar[bool] = True

    def collect(self, out: Path, progress: bool) -> Collected:
        """Fetch the sources into ``out`` and return the corpus' utterances and skipped files."""
        raise NotImplementedError

    def assign_splits(self, utterances: list[Utterance]) -> dict[str, list[Utterance]]:
        """Split utterances into train/valid/test (default: per-speaker hash split, 90/5/5)."""
        return split_by_hash(utterances)

    def options(self) -> dict[str, Any]:
        """The build options as JSON values (what the stamp records)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))

    def build(self, out: Path, progress: bool = True) -> BuildReport:
        """Build the corpus into ``out``, or verify a previous identical build and do nothing."""
        start = time.perf_counter()
        out = Path(out)
        report = load_done_report(out, self.name, self.options())
        if report is None:
            (out / STAMP_NAME).unlink(missing_ok=True)
            out.mkdir(parents=True, exist_ok=True)
            collected = self.collect(out, progress)
            if not collected.utterances:
                raise DataError(f"{self.name}: no usable audio found (see {out / SKIPPED_NAME})")
            splits = self.assign_splits(collected.utterances)
            report = write_corpus(out, self, splits, collected.skipped)
        report.seconds = time.perf_counter() - start
        if progress:
            print(report.summary())
        return report


@dataclass
class LocalCopyBuilder(CorpusBuilder):
    """A public corpus left where it lies: downloaded, or an existing copy at ``data_root``;
    manifests hold absolute paths into it."""

    relative_paths: ClassVar[bool] = False
    data_root: Path | None = None

    def __post_init__(self) -> None:
        if self.data_root is not None:
            self.data_root = Path(self.data_root).expanduser().resolve()


def stable_fraction(key: str) -> float:
    """Map a string to [0, 1) with SHA-256: the same on every machine and Python run."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_by_hash(
    utterances: Iterable[Utterance],
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
    group: Callable[[Utterance], str] = lambda utterance: utterance.speaker,
) -> dict[str, list[Utterance]]:
    """Deterministic split: within each group, rank ids by hash and cut test, valid, train.

    Every group with at least three utterances gets at least one in valid and one in test, so
    each speaker (or other group) appears in every split.
    """
    members: dict[str, list[Utterance]] = defaultdict(list)
    for utterance in utterances:
        members[group(utterance)].append(utterance)
    splits: dict[str, list[Utterance]] = {split: [] for split in SPLITS}
    for name in sorted(members):
        ranked = sorted(members[name], key=lambda u: (stable_fraction(u.id), u.id))
        test_count = _split_count(len(ranked), test_fraction)
        valid_count = _split_count(len(ranked), valid_fraction)
        splits["test"] += ranked[:test_count]
        splits["valid"] += ranked[test_count:test_count + valid_count]
        splits["train"] += ranked[test_count + valid_count:]
    return {split: sorted(items, key=lambda u: u.id) for split, items in splits.items()}


def _split_count(size: int, fraction: float) -> int:
    if fraction <= 0 or size < 3:
        return 0
    return max(1, round(size * fraction))


def write_corpus(out: Path, builder: CorpusBuilder, splits: dict[str, list[Utterance]],
                 skipped: list[SkippedFile]) -> BuildReport:
    """Write manifests, ``skipped.txt`` and, last, the stamp; return the build report."""
    checksums = {}
    for split in SPLITS:
        path = manifest.write(out / f"{split}.jsonl", splits.get(split, []),
                              relative=builder.relative_paths)
        checksums[split] = file_sha256(path)
    write_skipped(out / SKIPPED_NAME, skipped)
    everything = [utterance for split in SPLITS for utterance in splits.get(split, [])]
    report = BuildReport(
        corpus=builder.name, out=out,
        files={split: len(splits.get(split, [])) for split in SPLITS},
        hours=round(sum(u.duration for u in everything) / 3600.0, 4),
        speakers=sorted({u.speaker for u in everything}), skipped=list(skipped),
    )
    atomic_write_json(out / STAMP_NAME, {
        "version": STAMP_VERSION, "corpus": builder.name, "options": builder.options(),
        "files": report.files, "hours": report.hours, "speakers": report.speakers,
        "manifest_sha256": checksums,
        "skipped": [dataclasses.asdict(item) for item in skipped],
    })
    return report


def write_skipped(path: Path, skipped: list[SkippedFile]) -> Path:
    """Write one ``path<TAB>error`` line per skipped file (an empty file when none)."""
    return atomic_write_text(path, "".join(f"{item.path}\t{item.error}\n" for item in skipped))


def load_done_report(out: Path, corpus: str, options: dict[str, Any]) -> BuildReport | None:
    """The report of a finished build with these options, or None when a build is needed.

    The stamp must match corpus and options, every manifest its recorded checksum, and every
    audio file listed in the manifests must exist.
    """
    try:
        stamp = json.loads((out / STAMP_NAME).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(stamp, dict) or (stamp.get("version"), stamp.get("corpus"),
                                       stamp.get("options")) != (STAMP_VERSION, corpus, options):
        return None
    checksums = stamp.get("manifest_sha256", {})
    for split in SPLITS:
        path = out / f"{split}.jsonl"
        if not path.is_file() or file_sha256(path) != checksums.get(split):
            return None
        if not all(Path(u.path).is_file() for u in manifest.iter_manifest(path)):
            return None
    return BuildReport(
        corpus=corpus, out=out, files=stamp["files"], hours=stamp["hours"],
        speakers=stamp["speakers"], skipped=[SkippedFile(**s) for s in stamp.get("skipped", [])],
        no_op=True,
    )


def map_files(function: Callable[[Item], Utterance | SkippedFile], items: Sequence[Item],
              description: str, progress: bool) -> Collected:
    """Apply ``function`` to every item on a thread pool and gather the outcomes in order.

    Threads suffice: decoders, subprocesses and file syncs release the GIL.
    """
    workers = min(8, 2 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(progress_bar(pool.map(function, items), description, progress,
                                     total=len(items)))
    return Collected(
        utterances=[item for item in outcomes if isinstance(item, Utterance)],
        skipped=[item for item in outcomes if isinstance(item, SkippedFile)],
    )


def progress_bar(items: Iterable[Item], description: str, enabled: bool,
                 total: int | None = None) -> Iterable[Item]:
    """Wrap ``items`` in a tqdm progress bar (on stderr) when ``enabled``."""
    return tqdm(items, desc=description, total=total, unit="file", disable=not enabled,
                dynamic_ncols=True)


def read_header(path: Path) -> tuple[int, int]:
    """(sample_rate, frames) of an audio file from its header; AudioError if unreadable or empty."""
    sample_rate, frames, _ = audio.info(path)
    if frames == 0:
        raise AudioError(path, "audio has zero length")
    return sample_rate, frames


def copy_file(source: Path, destination: Path) -> Path:
    """Copy a file's bytes atomically."""
    def write(temporary: str) -> None:
        shutil.copyfile(source, temporary)

    return atomic_write(destination, write)


def download_debs(packages: Sequence[str], downloads: Path) -> dict[str, Path]:
    """Fetch Debian packages with ``apt-get download`` (no root needed) unless already present.

    A package counts as present when ``downloads`` holds a ``<package>_*.deb``; put the files
    there by hand on machines without apt.
    """
    downloads.mkdir(parents=True, exist_ok=True)
    missing = [package for package in packages if _find_deb(package, downloads) is None]
    if missing:
        apt_get = shutil.which("apt-get")
        if apt_get is None:
            raise DataError(f"apt-get not found: put {', '.join(missing)} (.deb) in {downloads}")
        result = subprocess.run([apt_get, "download", *missing], cwd=downloads,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise DataError(f"`apt-get download {' '.join(missing)}` failed "
                            f"({result.stderr.strip()[-500:]}); try `apt-get update`, or put the "
                            f".deb files in {downloads}")
    found = {package: _find_deb(package, downloads) for package in packages}
    absent = [package for package, deb in found.items() if deb is None]
    if absent:
        raise DataError(f"apt-get download left no .deb for {', '.join(absent)} in {downloads}")
    return {package: deb for package, deb in found.items() if deb is not None}


def _find_deb(package: str, downloads: Path) -> Path | None:
    candidates = sorted(downloads.glob(f"{package}_*.deb"))
    return candidates[-1] if candidates else None


def extract_deb(deb: Path, destination: Path) -> Path:
    """Unpack a .deb's files into ``destination`` with ``dpkg-deb -x``."""
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is None:
        raise DataError("dpkg-deb not found; install the Debian package `dpkg`")
    destination.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([dpkg_deb, "-x", str(deb), str(destination)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise DataError(f"{deb}: dpkg-deb -x failed ({result.stderr.strip()[-500:]})")
    return destination


def download_file(url: str, destination: Path, sha256: str | None, progress: bool = True
                  ) -> Path:
    """Download ``url`` to ``destination`` (atomically) and verify its SHA-256.

    An existing ``destination`` is verified, not downloaded again.
    """
    fetch_file(url, destination, progress)
    verify_sha256(destination, sha256)
    return destination


def fetch_file(url: str, destination: Path, progress: bool = True) -> Path:
    """Download ``url`` to ``destination`` atomically unless it is already there; the caller
    verifies the contents (for archives whose bytes are not stable, e.g. GitHub's)."""
    if not destination.is_file():
        partial = destination.with_name(destination.name + ".part")
        try:
            _fetch(url, partial, progress)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise DataError(f"cannot download {url} ({error}); download it by hand to "
                            f"{destination}, or pass an existing copy as data_root") from None
        os.replace(partial, destination)
    return destination


def _fetch(url: str, path: Path, progress: bool) -> None:
    """Stream ``url`` into ``path`` with a progress bar in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as handle:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=path.name,
                  disable=not progress) as bar:
            while block := response.read(1 << 20):
                handle.write(block)
                bar.update(len(block))


def verify_sha256(path: Path, expected: str | None) -> None:
    """Raise DataError when the file's SHA-256 differs; warn and skip when none is known."""
    if expected is None:
        warnings.warn(f"{path.name}: no SHA-256 is recorded for this download; not verified",
                      stacklevel=2)
        return
    actual = file_sha256(path)
    if actual != expected.lower():
        raise DataError(f"{path}: SHA-256 {actual} differs from the expected {expected}; "
                        "delete the file and download it again")


def extract_archive(archive: Path, destination: Path) -> Path:
    """Unpack a tar archive so that ``destination`` only appears once it is complete."""
    if destination.is_dir():
        return destination
    partial = destination.with_name(f".{destination.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(partial, **_SAFE_EXTRACTION)
    except (tarfile.TarError, OSError) as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise DataError(f"{archive}: cannot unpack ({error}); delete it and try again") from None
    os.replace(partial, destination)
    return destination
