"""The registry: exact metric names, one scorer per group, prefixed and typed options."""

from __future__ import annotations

import pytest

from audiogen.errors import ConfigError
from audiogen.eval import METRICS, registry
from audiogen.eval.cepstrum import MelCepstralDistortion
from audiogen.eval.intrusive import Waveform

NAMES = ["pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr", "snr", "lsd", "lsd_hf", "mel_l1",
         "mstft", "mcd", "f0_rmse", "vuv_f1", "periodicity", "dnsmos_ovrl", "dnsmos_sig",
         "dnsmos_bak", "dnsmos_p808", "plcmos", "utmos", "fad", "qp_pesq", "qp_stoi", "qp_mos",
         "speaker_match", "speaker_prob", "uer", "prompt_accuracy", "classifier_fd",
         "inception_score", "diversity"]


def test_metric_names_are_exact_and_each_group_has_a_scorer() -> None:
    assert sorted(METRICS) == sorted(NAMES)
    assert all(metric.group in registry.SCORERS for metric in METRICS.values())
    reference_free = {name for name, metric in METRICS.items() if not metric.needs_reference}
    assert reference_free == {"dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808",
                              "plcmos", "utmos", "qp_pesq", "qp_stoi", "qp_mos",
                              "speaker_match", "speaker_prob", "prompt_accuracy",
                              "inception_score", "diversity"}
    lower_is_better = {name for name, metric in METRICS.items() if not metric.higher_is_better}
    assert lower_is_better == {"lsd", "lsd_hf", "mel_l1", "mstft", "mcd", "f0_rmse", "periodicity",
                               "fad", "uer", "classifier_fd"}
    assert METRICS["pesq_wb"].sample_rate == 16000 and METRICS["pesq_nb"].sample_rate == 8000
    options = registry.option_names()
    assert options["speaker"] == ["speaker_classifier", "speaker_target"]
    assert options["units"][:2] == ["units_kmeans", "units_ssl"]
    assert options["generation"] == ["generation_classifier"]


def test_metrics_of_a_group_share_one_scorer() -> None:
    scorers = registry.build(registry.resolve(["si_sdr", "mcd", "snr", "si_sdr"]))
    assert [type(s) for s in scorers] == [Waveform, MelCepstralDistortion]
    assert scorers[0].names == ("si_sdr", "snr")


def test_string_options_are_converted_to_the_annotated_types() -> None:
    waveform, mcd = registry.build(registry.resolve(["si_sdr", "mcd"]), {
        "waveform_zero_mean": "true", "mcd_order": "20", "mcd_alpha": "0.42",
        "pitch_model": "full"})
    assert isinstance(waveform, Waveform) and waveform.zero_mean is True
    assert isinstance(mcd, MelCepstralDistortion) and (mcd.order, mcd.alpha) == (20, 0.42)
    with pytest.raises(ConfigError, match="mcd_order must be int"):
        registry.build(registry.resolve(["mcd"]), {"mcd_order": "many"})


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="'pesq'.*valid metrics: pesq_wb, pesq_nb"):
        registry.resolve(["pesq"])
    with pytest.raises(ConfigError, match="no metric requested"):
        registry.resolve([])
