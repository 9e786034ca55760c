"""audiogen: recipe-driven audio generation toolkit."""

__version__ = "0.1.0"


def load(name_or_path, device="cpu", **kwargs):  # type: ignore[no-untyped-def]
    """Load a shipped model by name or a trained one by path: see :func:`audiogen.api.load`."""
    from audiogen.api import load as _load

    return _load(name_or_path, device, **kwargs)


def load_converter(name_or_path, device="cpu", **kwargs):  # type: ignore[no-untyped-def]
    """A voice converter from a target voice's unit vocoder: see
    :func:`audiogen.api.load_converter`."""
    from audiogen.api import load_converter as _load_converter

    return _load_converter(name_or_path, device, **kwargs)
