"""audiogen: recipe-driven audio generation toolkit."""

__version__ = "0.1.0"


def load(name_or_path, device="cpu", **kwargs):  # type: ignore[no-untyped-def]
    """Load a shipped model by name or a trained one by path: see :func:`audiogen.api.load`."""
    from audiogen.api import load as _load

    return _load(name_or_path, device, **kwargs)
