"""`nhiaudit enforce`: guardrails generated from the written policy and the estate, checked by re-analysis.

generate (aws_boundary.py, aws_scp.py: one module per provider) -> verify (verify.py: the estate re-analysed
with the guardrails applied) -> render (render_json.py, render_terraform.py, render_plan.py: one per format).
Nothing here calls a cloud or applies anything: the output is for review and for the user's own pipeline.
"""
