"""`nhiaudit graph`: export the estate graph (or a --focus neighbourhood) as GraphML, DOT, Mermaid or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, stderr_console, write_output
from nhiaudit.cli.options import (
    AsOfOpt,
    AwsOpt,
    AwsOrgOpt,
    AwsOrgRoleOpt,
    AwsProfileOpt,
    AwsRegionsOpt,
    AwsRoleOpt,
    ConcurrencyOpt,
    ImportOpt,
    PolicyOpt,
    QuietOpt,
    SnapshotOpt,
    live_options,
    parse_as_of,
)
from nhiaudit.exit_status import ExitStatus
from nhiaudit.graph.export import GraphFormat


def register(app: typer.Typer) -> None:
    app.command("graph")(graph)


@handle_errors
def graph(
    snapshot: SnapshotOpt = None,
    imports: ImportOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[GraphFormat, typer.Option(
        "--format", "-f", help="graphml (Gephi, yEd), dot (Graphviz), mermaid (GitHub Markdown) or json "
        "(node-link).")] = GraphFormat.JSON,
    focus: Annotated[str | None, typer.Option(
        "--focus", metavar="TARGET", help="Only the neighbourhood of this integration, identity, system or node "
        "id.")] = None,
    depth: Annotated[int, typer.Option("--depth", min=0, help="Hops around --focus, in any direction.")] = 2,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")] = None,
    aws: AwsOpt = False,
    aws_profile: AwsProfileOpt = None,
    aws_role_arn: AwsRoleOpt = None,
    aws_org: AwsOrgOpt = False,
    aws_org_role: AwsOrgRoleOpt = "OrganizationAccountAccessRole",
    aws_regions: AwsRegionsOpt = None,
    concurrency: ConcurrencyOpt = 8,
    quiet: QuietOpt = False,
) -> None:
    """Export the graph of identities, credentials, workloads, systems and integrations; every edge has a
    kind and a reason."""
    from nhiaudit.estate import load_estate
    from nhiaudit.explain.inputs import prepare_inputs
    from nhiaudit.explain.target import KIND_PRIORITY, resolve
    from nhiaudit.graph.export import export_graph, focus_subgraph

    day = parse_as_of(as_of)
    console = stderr_console(quiet)
    live = live_options(aws, aws_profile, aws_role_arn, aws_org, aws_org_role, aws_regions, concurrency,
                        quiet)
    estate = load_estate(list(snapshot or []), list(imports or []), live, console)
    ctx = prepare_inputs(estate, policy, [], day, with_findings=False).context
    g = ctx.estate.graph
    if focus is not None:
        center = resolve(ctx.estate, focus, kinds=KIND_PRIORITY)
        g = focus_subgraph(g, center.node, depth)
        console.print(f"focus on {center.describe()}, depth {depth}: {g.number_of_nodes()} nodes, "
                      f"{g.number_of_edges()} edges")
    write_output(export_graph(g, fmt), output)
    if not estate.complete:
        console.print("collection incomplete: the graph is partial (exit 3)", style="red")
        raise typer.Exit(ExitStatus.INCOMPLETE)
