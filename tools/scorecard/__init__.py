"""The KPI scorecard, generated from measurements: ``python -m tools.scorecard``.

Each KPI module measures one thing and returns a :class:`~tools.scorecard.kpi.Kpi`
(target, measured value, the command that measures it, verdict, details);
``generate`` runs them and ``render`` writes ``docs/governance/scorecards/DATE.md``.
What each KPI means and how to regenerate the scorecard: docs/governance/kpis.md.
"""
