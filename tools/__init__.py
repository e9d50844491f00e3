"""Maintainer tooling (release automation, mutation checks, fuzz cases, the KPI scorecard); not part of the installed package."""
