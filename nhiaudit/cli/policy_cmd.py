"""`nhiaudit policy validate | schema | init`: check a written AI-usage policy, print its schema, start one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, stderr_console, write_output
from nhiaudit.cli.options import AsOfOpt, EstateInputs, parse_as_of, with_estate_inputs
from nhiaudit.errors import UsageError
from nhiaudit.textsafe import terminal_safe

OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                help="Write here instead of stdout.")]


LOCAL_SCHEMA_NAME = "nhiaudit-policy.schema.json"  # as nhiaudit.policy.template names it (imported lazily)


def register(app: typer.Typer) -> None:
    policy_app = typer.Typer(
        help="Check a written AI-usage policy (YAML), print its JSON Schema, or start one.", no_args_is_help=True
    )

    @policy_app.command("validate")
    @handle_errors
    def validate(
        file: Annotated[Path, typer.Argument(metavar="FILE", help="Policy file to check.")],
        as_of: AsOfOpt = None,
        rules: Annotated[
            list[Path] | None,
            typer.Option("--rules", metavar="DIR",
                         help="Extra rule directory (repeatable), so its rule ids are known."),
        ] = None,
    ) -> None:
        """Report every problem as file:line:col (exit 2), or print a summary (exit 0).

        Exception `rule:` values must be a finding category or the id of a shipped (or --rules) rule.
        Exceptions that already expired on --as-of (default today) are warnings, not errors.
        """
        from nhiaudit.policy.loader import load_policy, policy_warnings
        from nhiaudit.rules_engine.loader import load_rules

        day = parse_as_of(as_of)
        rule_ids = {r.rule.id for r in load_rules(list(rules or []), include_disabled=True)}  # as scan does
        policy = load_policy(file, known_rule_ids=rule_ids)
        console = stderr_console()
        for warning in policy_warnings(policy, day):
            console.print(f"warning: {terminal_safe(str(warning))}", markup=False, soft_wrap=True)
        typer.echo(
            f"{terminal_safe(str(file))}: ok ({len(policy.integrations)} integrations, {len(policy.systems)} systems, "
            f"{len(policy.exceptions)} exceptions)"
        )

    @policy_app.command("schema")
    @handle_errors
    def schema(output: OutputOpt = None) -> None:
        """Print the JSON Schema of the policy format (for editors and CI)."""
        from nhiaudit.policy.schema import policy_json_schema_text

        write_output(policy_json_schema_text(), output)

    @policy_app.command("init")
    @handle_errors
    @with_estate_inputs
    def init(
        inputs: EstateInputs,
        from_snapshot: Annotated[
            list[Path] | None,
            typer.Option("--from-snapshot", metavar="FILE",
                         help="Draft the policy from this snapshot (repeatable; the same as --snapshot)."),
        ] = None,
        as_of: AsOfOpt = None,
        output: OutputOpt = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --output file.")] = False,
        schema_ref: Annotated[
            str | None,
            typer.Option("--schema-ref", metavar="PATH|URL",
                         help="Where the editor header points for the JSON Schema."),
        ] = None,
    ) -> None:
        """Write a commented starter policy (stdout, or --output), or with an estate (--from-snapshot, --snapshot,
        --import or a live source, as scan reads them) a draft describing it.

        The draft declares every AI-capable identity as an integration that may reach what it reaches today,
        with a `# review:` comment on every generated entry (docs/policy.md); --as-of dates it. Without an
        estate, the settings are the built-in defaults, which a well-run estate passes; stricter options and
        examples are comments. With --output and no --schema-ref, the JSON Schema is written beside the
        policy as nhiaudit-policy.schema.json (unless it exists) and the editor header points at it, so
        yaml-language-server completes and checks the file offline; on stdout the header points at that
        same name and a comment says how to write the file."""
        from nhiaudit.policy.schema import policy_json_schema_text
        from nhiaudit.policy.template import starter_policy

        if output is not None and output.exists() and not force:
            raise UsageError(f"{output} already exists; use --force to overwrite it")
        hint = str(output) if output is not None else "policy.yaml"
        console = stderr_console()
        if from_snapshot or inputs.any:
            from nhiaudit.cli.policy_draft import write_draft

            inputs = EstateInputs([*(from_snapshot or []), *inputs.snapshots], inputs.imports, inputs.live)
            write_draft(inputs, parse_as_of(as_of), output, schema_ref, hint)
            return
        if output is not None and schema_ref is None:
            schema_file = output.parent / LOCAL_SCHEMA_NAME
            if not schema_file.exists():
                write_output(policy_json_schema_text(), schema_file)
                console.print(f"wrote {terminal_safe(str(schema_file))} (the policy's JSON Schema, for editors)",
                              markup=False)
            schema_ref = f"./{LOCAL_SCHEMA_NAME}"
        write_output(starter_policy(schema_ref, hint), output)
        if output is not None:
            safe = terminal_safe(str(output))
            console.print(f"wrote {safe}; edit it, then run: nhiaudit policy validate {safe}", markup=False)

    app.add_typer(policy_app, name="policy")
