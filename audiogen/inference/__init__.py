"""Batch front-ends over trained models: each reads a file, a folder or a manifest, writes one
output per input that mirrors its name, and reports the inputs it skipped.

- :mod:`~audiogen.inference.feature_files`: the one ``.npz`` feature format, read and written;
- :mod:`~audiogen.inference.inputs`: listing inputs;
- :mod:`~audiogen.inference.synthesize`: copy-synthesis and generation from saved features;
- :mod:`~audiogen.inference.features`: representation features (SSL, units, MFCC) to a folder;
- :mod:`~audiogen.inference.tokens`: codec tokens to files and back to audio.
"""
