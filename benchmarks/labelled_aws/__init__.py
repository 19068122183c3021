"""An independently labelled AWS estate: a seeded generator of `aws iam get-account-authorization-details`
exports and credential reports, a written policy, and a manifest of every planted finding.

The labels come from what each rule is documented to report (rules/*.yaml, docs/rules.md) and from the
decisions of issue 11, never from running nhiaudit. `benchmarks/labelled_precision.py` scores a scan
against them.
"""
