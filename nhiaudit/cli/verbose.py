"""-v/--verbose: before anything is read, what a run will read and why (on stderr, one line each).

Plain strings only: the caller prints them without markup, after making them terminal-safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nhiaudit.cli.options import EstateInputs
    from nhiaudit.connectors.options import AwsOptions, AzureOptions, GcpOptions

_WHY = "identities, their credentials and permissions, trust (who can act as whom) and workloads"


def _aws(opts: AwsOptions) -> str:
    who = f"profile {opts.profile}" if opts.profile else "boto3's default credential chain"
    if opts.role_arn:
        who += f", then assuming {opts.role_arn}"
    scope = (f"every active account of the organisation (Organizations ListAccounts), entered as "
             f"{opts.org_role}" if opts.org else "the credentials' own account")
    regions = ", ".join(opts.regions) if opts.regions else "every enabled region"
    return (f"AWS live ({who}): {scope}; IAM users, roles, groups, policies and access key metadata for {_WHY}; "
            f"Lambda and EC2 in {regions} for the workloads that run as each role")


def _gcp(opts: GcpOptions) -> str:
    scopes = [f"project {p}" for p in opts.projects]
    if opts.organization:
        scopes.append(f"every active project of organization {opts.organization}")
    scopes += [f"every active project below folder {f}" for f in opts.folders]
    who = f"as {opts.impersonate} (impersonated)" if opts.impersonate else "Application Default Credentials"
    return (f"GCP live ({who}): {', '.join(scopes) or 'the configured project'}; service accounts, their keys, "
            f"IAM policies and deny policies for {_WHY}")


def _azure(opts: AzureOptions) -> str:
    tenant = f"Entra tenant {opts.tenant}" if opts.tenant else "the credential's Entra tenant"
    subs = ", ".join(opts.subscriptions) if opts.subscriptions else "every readable subscription"
    return (f"Azure live (DefaultAzureCredential, {opts.cloud} cloud): {tenant} through Microsoft "
            f"Graph (service principals, applications, their secret and certificate metadata, app-role grants) and "
            f"role assignments of {subs} through ARM, for {_WHY}")


def describe_inputs(inputs: EstateInputs, policy: Path | None = None,
                    rules: Sequence[Path] | None = None) -> list[str]:
    """One line per thing the run will read, saying why it reads it (rules: None when none are run)."""
    lines = [f"snapshot {p}: a saved inventory (from `nhiaudit collect`), read instead of a cloud"
             for p in inputs.snapshots]
    lines += [f"import {p}: provider exports, turned into the same inventory as a live collection"
              for p in inputs.imports]
    live = inputs.live
    if live.aws.enabled:
        lines.append(_aws(live.aws))
    if live.gcp.enabled:
        lines.append(_gcp(live.gcp))
    if live.azure.enabled:
        lines.append(_azure(live.azure))
    if live.any:
        lines.append(f"live collection: read-only calls, up to {live.concurrency} accounts or projects at once, "
                     f"at most {live.aws.timeout:g}s in all (--timeout)")
    if rules is not None:
        lines.append("rules: the shipped rules" + "".join(f", and {d}" for d in rules))
    if policy is not None:
        lines.append(f"policy {policy}: the written AI-usage policy the estate is checked against")
    return lines
