from itertools import islice
from pathlib import Path

import pytest
import torch

from audiogen.data import manifest
from audiogen.data.dataset import AudioDataset, StepBatchSampler, bucket_by_length, collate
from audiogen.errors import DataError


def batches(sampler: StepBatchSampler, count: int) -> list[list[tuple[int, int]]]:
    return list(islice(iter(sampler), count))


def test_sampler_resumes_at_any_batch() -> None:
    straight = batches(StepBatchSampler(10, 3, seed=7), 8)
    resumed = batches(StepBatchSampler(10, 3, seed=7, start_batch=5), 3)
    assert resumed == straight[5:]


def test_each_epoch_is_a_permutation_and_seeds_differ() -> None:
    flat = [index for batch in batches(StepBatchSampler(12, 4, seed=1), 6) for index, _ in batch]
    assert sorted(flat[:12]) == list(range(12)) and sorted(flat[12:]) == list(range(12))
    other = [i for b in batches(StepBatchSampler(12, 4, seed=2), 3) for i, _ in b]
    assert other != flat[:12]


def test_ranks_take_disjoint_shares_of_the_global_batch() -> None:
    single = batches(StepBatchSampler(16, 4, seed=3), 4)
    rank0 = batches(StepBatchSampler(16, 2, seed=3, rank=0, world_size=2), 4)
    rank1 = batches(StepBatchSampler(16, 2, seed=3, rank=1, world_size=2), 4)
    for whole, a, b in zip(single, rank0, rank1):
        assert sorted(a + b) == sorted(whole) and not set(a) & set(b)


def test_crops_are_deterministic_per_item_seed(tiny_corpus: Path) -> None:
    dataset = AudioDataset(tiny_corpus / "train.jsonl", 16000, segment_seconds=0.25)
    first, again = dataset[(0, 123)], dataset[(0, 123)]
    other = dataset[(0, 999)]
    assert first["audio"].shape == (1, 4000)
    assert torch.equal(first["audio"], again["audio"])
    assert not torch.equal(first["audio"], other["audio"])


def test_crops_of_short_utterances_report_their_audio_length(tiny_corpus: Path) -> None:
    dataset = AudioDataset(tiny_corpus / "train.jsonl", 16000, segment_seconds=2.0)
    for index, utterance in enumerate(dataset.utterances):
        item = dataset[(index, 7)]
        samples = round(utterance.duration * 16000)
        assert item["audio"].shape == (1, 32000)
        assert item["length"] == samples < 32000
        assert float(item["audio"][0, samples:].abs().sum()) == 0.0
        assert float(item["audio"][0, samples - 400:samples].abs().sum()) > 0.0
    long = AudioDataset(tiny_corpus / "train.jsonl", 16000, segment_seconds=0.25)[(0, 7)]
    assert long["length"] == 4000


def test_whole_utterances_resampled_and_collated(tiny_corpus: Path) -> None:
    dataset = AudioDataset(tiny_corpus / "valid.jsonl", 8000)
    items = [dataset[i] for i in range(len(dataset))]
    expected = [round(u.duration * 8000) for u in dataset.utterances]
    assert [item["length"] for item in items] == expected
    batch = collate(items)
    assert batch["audio"].shape == (2, 1, max(expected))
    shorter = int(batch["lengths"].argmin())
    assert float(batch["audio"][shorter, 0, batch["lengths"][shorter]:].abs().sum()) == 0.0


def test_several_manifests_and_length_filter(tiny_corpus: Path) -> None:
    both = AudioDataset([str(tiny_corpus / "train.jsonl"), str(tiny_corpus / "test.jsonl")],
                        16000)
    assert len(both) == 10
    with pytest.raises(DataError, match="no utterances of at least 100"):
        AudioDataset(tiny_corpus / "train.jsonl", 16000, min_seconds=100)


def test_bucketing_groups_similar_lengths() -> None:
    assert bucket_by_length([5, 1, 4, 2, 3], 2) == [[1, 3], [4, 2], [0]]


def test_manifest_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"path": "a.wav", "duration": 1, "sample_rate": 16000, "speaker": "s"}\n'
                    '{"path": "b.wav", "duration": 1, "speaker": "s"}\n')
    with pytest.raises(DataError, match=r"m.jsonl:2: missing field 'sample_rate'"):
        manifest.read(path)
    path.write_text("not json\n")
    with pytest.raises(DataError, match=r"m.jsonl:1: invalid JSON"):
        manifest.read(path)
