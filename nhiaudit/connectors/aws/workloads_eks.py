"""EKS workloads that run as an IAM role: Kubernetes service accounts.

Two mechanisms give a pod a role's credentials:
- IRSA (IAM roles for service accounts): the role trusts the cluster's OIDC provider with a `...:sub` condition
  `system:serviceaccount:NS:SA`. Derived from the trust policies already read (no extra call; live and import
  alike). A wildcard subject (or none) is recorded as it is: `ns/*`, `*/*`.
- EKS Pod Identity: an association (cluster, namespace, service account -> role). Live: ListClusters, then
  ListPodIdentityAssociations per cluster and DescribePodIdentityAssociation per association (bounded per
  region); import: `aws eks describe-pod-identity-association` output. The role trusts pods.eks.amazonaws.com
  (a service trust, read from the trust policy like any other)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.shapes import reply_list
from nhiaudit.connectors.aws.workloads_ecs import Listing, describe_each, reading
from nhiaudit.inventory.model import Provider, Trust, TrustKind, Workload

EKS_SERVICE_ACCOUNT = "eks_service_account"  # IRSA
EKS_POD_IDENTITY = "eks_pod_identity"
MAX_ASSOCIATIONS = 200  # DescribePodIdentityAssociation calls per region
MAX_CLUSTERS = 100  # ListPodIdentityAssociations listings per region
MAX_SUBJECTS = 50  # service-account subjects taken from one trust statement
SA_PREFIX = "system:serviceaccount:"
TARGET_SUFFIX = "#target"  # a cross-account association's second workload: the target role

# arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID (China: amazonaws.com.cn)
_EKS_PROVIDER = re.compile(
    r"^arn:[\w-]+:iam::\d{12}:oidc-provider/(oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/id/([A-Za-z0-9]+))$"
)
# Condition operators that admit the listed values (a negated operator such as StringNotEquals pins nothing).
_ADMITTING = frozenset({"stringequals", "stringlike", "stringequalsignorecase"})


# ---- IRSA: pure, from trust records -----------------------------------------------------------------


def _base_operator(operator: str) -> str:
    name = operator.lower()
    for prefix in ("forallvalues:", "foranyvalue:"):
        name = name.removeprefix(prefix)
    return name.removesuffix("ifexists")


def irsa_subjects(trust: Trust, issuer: str) -> tuple[str, ...]:
    """The `sub` values a trust on an EKS OIDC provider admits; `*` when no condition names the subject."""
    wanted = f"{issuer}:sub".lower()
    found: list[str] = []
    for operator, block in trust.conditions.items():
        if _base_operator(str(operator)) not in _ADMITTING or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            if str(key).lower() == wanted:  # a value that is not a string matches no token: left out
                found.extend(v for v in (values if isinstance(values, list) else [values]) if isinstance(v, str))
    return tuple(sorted(set(found))[:MAX_SUBJECTS]) or ("*",)


def service_account_name(subject: str) -> str:
    """`system:serviceaccount:NS:SA` -> `NS/SA`; a bare wildcard -> `*/*`; any other subject as written."""
    if subject == "*":
        return "*/*"
    if subject.startswith(SA_PREFIX):
        namespace, _, account = subject.removeprefix(SA_PREFIX).partition(":")
        if namespace == "*" and not account:
            return "*/*"
        return f"{namespace}/{account or '*'}"
    return subject


def transform_irsa(trusts: Iterable[Trust]) -> list[Workload]:
    """One workload per (role, service-account subject) of every trust on an EKS cluster's OIDC provider."""
    out: dict[str, Workload] = {}
    for trust in trusts:
        match = _EKS_PROVIDER.match(trust.principal) if trust.kind is TrustKind.FEDERATED else None
        if match is None:
            continue
        issuer, region, _cluster = match.groups()
        account = arn_parts(trust.identity_id)[3]
        for subject in irsa_subjects(trust, issuer):
            workload_id = f"{trust.principal}#{subject}@{trust.identity_id}"
            out[workload_id] = Workload(id=workload_id, provider=Provider.AWS, account=account,
                                        kind=EKS_SERVICE_ACCOUNT, name=service_account_name(subject),
                                        identity_id=trust.identity_id, region=region)
    return [out[k] for k in sorted(out)]


# ---- Pod Identity: get ------------------------------------------------------------------------------


def _strings(items: list[Any], what: str) -> list[str]:
    if not all(isinstance(i, str) and i for i in items):
        raise RawDataError(f"malformed reply: a {what} is not a string")
    return sorted(set(items))


def get_pod_identity_associations(
    client: Any, failures: tuple[type[BaseException], ...], limit: int = MAX_ASSOCIATIONS,
    cluster_limit: int = MAX_CLUSTERS,
) -> Listing:
    """The region's clusters, each cluster's associations (a failed listing is recorded, the other clusters
    kept), then one describe per association up to `limit`."""
    pages = client.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 100})
    clusters = _strings([c for page in pages for c in reply_list(page, "clusters")], "cluster name")
    keys: list[tuple[str, str]] = []
    failed: list[tuple[str, BaseException]] = []
    for cluster in clusters[:cluster_limit]:
        try:
            with reading("ListPodIdentityAssociations"):
                listed = client.get_paginator("list_pod_identity_associations").paginate(
                    clusterName=cluster, PaginationConfig={"PageSize": 100})
                ids = [a.get("associationId") if isinstance(a, Mapping) else None
                       for page in listed for a in reply_list(page, "associations")]
                keys.extend((cluster, i) for i in _strings(ids, "association id"))
        except failures as exc:
            failed.append((f"those of cluster {cluster}", exc))

    def describe(key: str) -> Mapping[str, Any]:
        cluster, _, association = key.partition("/")
        reply = dict(client.describe_pod_identity_association(clusterName=cluster, associationId=association))
        reply.pop("ResponseMetadata", None)
        export_shapes.check(export_shapes.EKS_POD_IDENTITY, reply)
        return dict(reply["association"])

    listing = describe_each([f"{c}/{a}" for c, a in keys], describe, failures, limit)
    cut = len(clusters) - cluster_limit
    truncated = (f"{cut} clusters beyond the first {cluster_limit} were not read",) if cut > 0 else ()
    return Listing(listing.definitions, listing.left_out, (*tuple(failed), *listing.failed), truncated)


# ---- Pod Identity: transform (pure) -------------------------------------------------------------------


def transform_pod_identity_associations(associations: Iterable[Mapping[str, Any]]) -> list[Workload]:
    """Each association's role; a cross-account association (targetRoleArn) also runs as its target role."""
    out: list[Workload] = []
    for a in associations:
        arn = str(a["associationArn"])
        _, _, region, account, _ = arn_parts(arn)
        name = f"{a.get('namespace')}/{a.get('serviceAccount')}"
        for field, suffix in (("roleArn", ""), ("targetRoleArn", TARGET_SUFFIX)):
            if a.get(field):
                out.append(Workload(id=arn + suffix, provider=Provider.AWS, account=account, kind=EKS_POD_IDENTITY,
                                    name=name, identity_id=str(a[field]), region=region or None))
    return out
