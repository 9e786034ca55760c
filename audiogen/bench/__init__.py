"""Speed benchmarks: vocoders, codecs and evaluation, over one timing/MAC-counting module.

- :mod:`~audiogen.bench.timing`: medians of wall-clock time, parameters and MACs of one call;
- :mod:`~audiogen.bench.vocoder`: real-time factor of our vocoders and peer architectures;
- :mod:`~audiogen.bench.codec`: encode + decode speed of our codec and EnCodec;
- :mod:`~audiogen.bench.evaluation`: seconds of evaluation per hour of audio, per metric.
"""
