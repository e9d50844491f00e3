"""Maintainer tooling (release automation); not part of the installed package."""
