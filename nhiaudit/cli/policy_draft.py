"""`nhiaudit policy init --from-snapshot S` (or any estate input `scan` takes): a draft written policy."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from nhiaudit.cli.common import refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import EstateInputs
from nhiaudit.errors import InputError, UsageError
from nhiaudit.exit_status import ExitStatus
from nhiaudit.limits import MAX_POLICY_BYTES
from nhiaudit.policy.template import LOCAL_SCHEMA_NAME
from nhiaudit.textsafe import terminal_safe


def write_draft(inputs: EstateInputs, day: date, output: Path | None, schema_ref: str | None, hint: str) -> None:
    """Load the estate as scan does, draft the policy, check that it loads cleanly, write it. As the starter
    does: with --output and no --schema-ref, the JSON Schema goes beside the policy (unless it exists), after
    the draft succeeded."""
    from nhiaudit.drafting.build import draft_policy
    from nhiaudit.drafting.render import render_draft
    from nhiaudit.policy.loader import load_policy_text
    from nhiaudit.scan import analysis_domains

    refuse_overwriting_inputs([output], [*inputs.snapshots, *inputs.imports])
    console = stderr_console(inputs.quiet)
    snapshot = inputs.load(console)
    draft = draft_policy(snapshot, day, analysis_domains(inputs.live.gcp.domains))
    text = render_draft(draft, schema_ref or f"./{LOCAL_SCHEMA_NAME}", hint)
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise UsageError(f"the draft would be larger than a policy may be ({MAX_POLICY_BYTES} bytes): draft from "
                         "fewer accounts or projects at a time")
    try:
        load_policy_text(text, "(drafted policy)")
    except InputError as exc:  # a draft that does not load is a bug (exit 4), never the user's input: not written
        raise RuntimeError(f"the drafted policy does not load: {exc.problems[0]}") from None
    write_output(text, output)
    schema_file = output.parent / LOCAL_SCHEMA_NAME if output is not None and schema_ref is None else None
    if schema_file is not None and not schema_file.exists():
        from nhiaudit.policy.schema import policy_json_schema_text

        write_output(policy_json_schema_text(), schema_file)
        console.print(f"wrote {terminal_safe(str(schema_file))} (the policy's JSON Schema, for editors)",
                      markup=False)
    if output is not None:
        safe = terminal_safe(str(output))
        console.print(f"wrote {safe}: a draft of {len(draft.integrations)} integration(s) and {len(draft.systems)} "
                      f"system(s); review every `# review:` line, then run: nhiaudit policy validate {safe}",
                      markup=False)
    if not snapshot.complete:  # written all the same, like a scan's partial report: exit 3 says it is partial
        console.print("collection incomplete: the draft covers only what was read", style="red")
        raise typer.Exit(ExitStatus.INCOMPLETE)
