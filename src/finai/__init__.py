"""FinAI: a self-hosted AI decision platform for lenders and fintechs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("finai")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]
