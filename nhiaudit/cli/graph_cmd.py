"""`nhiaudit graph`: export the estate graph (or a --focus neighbourhood) as GraphML, DOT, Mermaid or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nhiaudit.cli.common import handle_errors, refuse_overwriting_inputs, stderr_console, write_output
from nhiaudit.cli.options import AsOfOpt, EstateInputs, PolicyOpt, parse_as_of, with_estate_inputs
from nhiaudit.exit_status import ExitStatus
from nhiaudit.graph.export import GraphFormat
from nhiaudit.textsafe import markup_safe


def register(app: typer.Typer) -> None:
    app.command("graph")(graph)


@handle_errors
@with_estate_inputs
def graph(
    inputs: EstateInputs,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[GraphFormat, typer.Option(
        "--format", "-f", help="graphml (Gephi, yEd), dot (Graphviz), mermaid (GitHub Markdown) or json "
        "(node-link).")] = GraphFormat.JSON,
    focus: Annotated[str | None, typer.Option(
        "--focus", metavar="TARGET", help="Only the neighbourhood of this integration, identity, system or node "
        "id.")] = None,
    depth: Annotated[int, typer.Option("--depth", metavar="N", min=0,
                                       help="Hops around --focus, in any direction.")] = 2,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                help="Write here, not stdout.")] = None,
) -> None:
    """Export the graph of identities, credentials, workloads, systems and integrations; every edge has a
    kind and a reason."""
    from nhiaudit.explain.inputs import prepare_inputs
    from nhiaudit.explain.target import KIND_PRIORITY, resolve
    from nhiaudit.graph.export import export_graph, focus_subgraph
    from nhiaudit.scan import analysis_domains, load_setup

    day = parse_as_of(as_of)
    domains = analysis_domains(inputs.live.gcp.domains)
    refuse_overwriting_inputs([output], [policy, *inputs.snapshots, *inputs.imports])
    console = stderr_console(inputs.quiet)
    from nhiaudit.cli.progress import stage_progress

    with stage_progress(console, quiet=inputs.quiet) as timer:
        setup = load_setup(policy, [], timer=timer)  # fail fast: the policy is checked before any collection
        estate = timer.run("load", inputs.for_policy(setup.policy).load, console)
        ctx = prepare_inputs(estate, policy, [], day, with_findings=False, gcp_domains=domains, setup=setup,
                             timer=timer).context
    g = ctx.estate.graph
    if focus is not None:
        center = resolve(ctx.estate, focus, kinds=KIND_PRIORITY)
        g = focus_subgraph(g, center.node, depth)
        console.print(f"focus on {markup_safe(center.describe())}, depth {depth}: {g.number_of_nodes()} nodes, "
                      f"{g.number_of_edges()} edges")
    write_output(export_graph(g, fmt), output)
    if not estate.complete:
        console.print("collection incomplete: the graph is partial (exit 3)", style="red")
        raise typer.Exit(ExitStatus.INCOMPLETE)
