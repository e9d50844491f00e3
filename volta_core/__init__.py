"""Volta core: the compiler, runtime and CLI shared by every front door."""

__version__ = "0.1.0"
