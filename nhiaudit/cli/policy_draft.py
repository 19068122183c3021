"""`nhiaudit policy init --from-snapshot S` (or any estate input `scan` takes): a draft written policy."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from nhiaudit.cli.common import refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import EstateInputs
from nhiaudit.textsafe import terminal_safe


def write_draft(inputs: EstateInputs, day: date, output: Path | None, schema_ref: str, hint: str) -> None:
    """Load the estate as scan does, draft the policy, check that it loads cleanly, write it."""
    from nhiaudit.drafting.build import draft_policy
    from nhiaudit.drafting.render import render_draft
    from nhiaudit.policy.loader import load_policy_text
    from nhiaudit.scan import analysis_domains

    refuse_overwriting_inputs([output], [*inputs.snapshots, *inputs.imports])
    console = stderr_console(inputs.quiet)
    snapshot = inputs.load(console)
    draft = draft_policy(snapshot, day, analysis_domains(inputs.live.gcp.domains))
    text = render_draft(draft, schema_ref, hint)
    load_policy_text(text, "(drafted policy)")  # a draft that does not load is a bug: exit 4, never written
    write_output(text, output)
    if output is not None:
        safe = terminal_safe(str(output))
        console.print(f"wrote {safe}: a draft of {len(draft.integrations)} integration(s) and {len(draft.systems)} "
                      f"system(s); review every `# review:` line, then run: nhiaudit policy validate {safe}",
                      markup=False)
    if not snapshot.complete:
        console.print("collection incomplete: the draft covers only what was read", style="red")
