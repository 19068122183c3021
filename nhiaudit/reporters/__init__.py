"""Reporters: render a Report as table, JSON, SARIF or Markdown (`get_reporter(fmt).render(report, ctx)`)."""

from nhiaudit.reporters.interface import OutputFormat, RenderContext, Reporter, RuleDoc, get_reporter

__all__ = ["OutputFormat", "RenderContext", "Reporter", "RuleDoc", "get_reporter"]
