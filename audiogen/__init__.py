"""audiogen: recipe-driven audio generation toolkit."""

__version__ = "0.1.0"
