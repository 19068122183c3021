"""Import of the AWS CLI outputs for Bedrock knowledge bases, EKS Pod Identity associations and SageMaker
endpoints (with their endpoint configs and models). The raw shapes are those live collection reads, so the same
transforms apply (exports.py routes the files here).

A describe adds its workload. A listing (`list-knowledge-bases`, `list-pod-identity-associations`) says the
account's resources of that kind were listed: the kind counts as collected when every listed resource's
describe was imported too; each one missing is a collection issue, as a refused describe is live."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.assemble import RawAccount
from nhiaudit.connectors.aws.raw import account_of
from nhiaudit.connectors.aws.workloads_ai import BEDROCK_KNOWLEDGE_BASE
from nhiaudit.connectors.aws.workloads_eks import EKS_POD_IDENTITY
from nhiaudit.connectors.aws.workloads_sagemaker import SAGEMAKER_ENDPOINT, join_endpoints
from nhiaudit.connectors.interface import ExportFile
from nhiaudit.errors import InputError
from nhiaudit.inventory.model import CollectionIssue, Provider

KNOWLEDGE_BASE = "aws-bedrock-knowledge-base"
KNOWLEDGE_BASES = "aws-bedrock-knowledge-bases"
POD_IDENTITY = "aws-eks-pod-identity-association"
POD_IDENTITIES = "aws-eks-pod-identity-associations"
ENDPOINT = "aws-sagemaker-endpoint"
ENDPOINTS = "aws-sagemaker-endpoints"
ENDPOINT_CONFIG = "aws-sagemaker-endpoint-config"
MODEL = "aws-sagemaker-model"

SHAPES = {
    KNOWLEDGE_BASE: export_shapes.BEDROCK_KNOWLEDGE_BASE,
    KNOWLEDGE_BASES: export_shapes.BEDROCK_KNOWLEDGE_BASES,
    POD_IDENTITY: export_shapes.EKS_POD_IDENTITY,
    POD_IDENTITIES: export_shapes.EKS_POD_IDENTITIES,
    ENDPOINT: export_shapes.SAGEMAKER_ENDPOINT,
    ENDPOINTS: export_shapes.SAGEMAKER_ENDPOINTS,
    ENDPOINT_CONFIG: export_shapes.SAGEMAKER_ENDPOINT_CONFIG,
    MODEL: export_shapes.SAGEMAKER_MODEL,
}
FORMATS = {
    KNOWLEDGE_BASE: "aws bedrock-agent get-knowledge-base --knowledge-base-id ID > file.json (one file per "
                    "knowledge base)",
    KNOWLEDGE_BASES: "aws bedrock-agent list-knowledge-bases > file.json (with one account's files: the knowledge "
                     "bases listed, each needing its get-knowledge-base output)",
    POD_IDENTITY: "aws eks describe-pod-identity-association --cluster-name C --association-id ID > file.json",
    POD_IDENTITIES: "aws eks list-pod-identity-associations --cluster-name C > file.json (each association "
                    "needing its describe-pod-identity-association output)",
    ENDPOINT: "aws sagemaker describe-endpoint --endpoint-name NAME > file.json (with its describe-endpoint-config "
              "and describe-model outputs)",
    ENDPOINTS: "aws sagemaker list-endpoints > file.json (each endpoint needing its describe-endpoint output)",
    ENDPOINT_CONFIG: "aws sagemaker describe-endpoint-config --endpoint-config-name NAME > file.json",
    MODEL: "aws sagemaker describe-model --model-name NAME > file.json",
}
_MISSING = {
    BEDROCK_KNOWLEDGE_BASE: ("bedrock:GetKnowledgeBase", "Bedrock knowledge bases' service roles"),
    EKS_POD_IDENTITY: ("eks:DescribePodIdentityAssociation", "EKS Pod Identity associations' roles"),
    SAGEMAKER_ENDPOINT: ("sagemaker:DescribeEndpoint", "SageMaker endpoints' execution roles"),
}
_ENDPOINT_MISSING = "SageMaker endpoints' execution roles"


def detect(data: Mapping[str, Any]) -> str | None:
    if "knowledgeBase" in data:
        return KNOWLEDGE_BASE
    if isinstance(data.get("knowledgeBaseSummaries"), list):
        return KNOWLEDGE_BASES
    if "association" in data:
        return POD_IDENTITY
    if isinstance(data.get("associations"), list):
        return POD_IDENTITIES
    if "EndpointArn" in data:
        return ENDPOINT
    if isinstance(data.get("Endpoints"), list):
        return ENDPOINTS
    if "EndpointConfigArn" in data:
        return ENDPOINT_CONFIG
    if "ModelArn" in data:
        return MODEL
    return None


AccountOf = Callable[[str, ExportFile], RawAccount]


@dataclass
class WorkloadFiles:
    """The files of these kinds, read after the others: listings and SageMaker joins need every describe."""

    files: list[tuple[str, ExportFile]] = field(default_factory=list)

    def add(self, kind: str, file: ExportFile) -> None:
        self.files.append((kind, file))

    def apply(self, accounts: dict[str, RawAccount], account: AccountOf) -> None:
        described: dict[str, set[str]] = {BEDROCK_KNOWLEDGE_BASE: set(), EKS_POD_IDENTITY: set(),
                                          SAGEMAKER_ENDPOINT: set()}
        endpoints, configs, models = [], [], []
        for kind, file in self.files:
            data = file.data
            if kind == KNOWLEDGE_BASE:
                kb = data["knowledgeBase"]
                account(account_of(str(kb["knowledgeBaseArn"])), file).knowledge_bases.append(kb)
                described[BEDROCK_KNOWLEDGE_BASE].add(str(kb["knowledgeBaseId"]))
            elif kind == POD_IDENTITY:
                association = data["association"]
                account(account_of(str(association["associationArn"])), file).pod_identities.append(association)
                described[EKS_POD_IDENTITY].add(str(association["associationArn"]))
            elif kind == ENDPOINT:
                endpoints.append((file, data))
                described[SAGEMAKER_ENDPOINT].add(str(data["EndpointArn"]))
            elif kind == ENDPOINT_CONFIG:
                configs.append(data)
            elif kind == MODEL:
                models.append(data)
        joined = join_endpoints([endpoint for _, endpoint in endpoints], configs, models)
        for (file, endpoint), (chain, lacking) in zip(endpoints, joined, strict=True):
            raw = account(account_of(str(endpoint["EndpointArn"])), file)
            raw.sagemaker_endpoints.append(chain)
            for operation, what in lacking:
                _issue(raw, operation, f"not imported: {what}", _ENDPOINT_MISSING)
        for kind, file in self.files:  # listings last: they check the describes above
            if kind == KNOWLEDGE_BASES:
                raw = _sole_account(file, accounts, account)
                _listed(raw, BEDROCK_KNOWLEDGE_BASE, [str(k["knowledgeBaseId"]) for k in
                                                      file.data["knowledgeBaseSummaries"]],
                        described[BEDROCK_KNOWLEDGE_BASE], "knowledge base")
            elif kind in _ARN_LISTINGS:
                workload_kind, items, arn_key, noun = _ARN_LISTINGS[kind]
                by_account: dict[str, list[str]] = {}
                for item in file.data[items]:
                    by_account.setdefault(account_of(str(item[arn_key])), []).append(str(item[arn_key]))
                if not by_account:
                    by_account[_sole_account(file, accounts, account).account] = []
                for acct, arns in sorted(by_account.items()):
                    _listed(account(acct, file), workload_kind, arns, described[workload_kind], noun)


# Listings whose items carry ARNs: (workload kind, list field, ARN field, what one item is).
_ARN_LISTINGS = {
    POD_IDENTITIES: (EKS_POD_IDENTITY, "associations", "associationArn", "pod identity association"),
    ENDPOINTS: (SAGEMAKER_ENDPOINT, "Endpoints", "EndpointArn", "endpoint"),
}


def _issue(raw: RawAccount, operation: str, message: str, missing: str) -> None:
    raw.issues.append(CollectionIssue(provider=Provider.AWS, account=raw.account, operation=operation,
                                      message=message, missing=missing))


def _listed(raw: RawAccount, kind: str, listed: list[str], described: set[str], noun: str) -> None:
    """The kind was listed; a listed resource whose describe was not imported is an issue (as a refused one)."""
    raw.listed.add(kind)
    absent = sorted(set(listed) - described)
    if absent:
        operation, missing = _MISSING[kind]
        shown = ", ".join(absent[:10]) + (", ..." if len(absent) > 10 else "")
        _issue(raw, operation, f"not imported: the describe of {len(absent)} listed {noun}(s): {shown}", missing)


def _sole_account(file: ExportFile, accounts: dict[str, RawAccount], account: AccountOf) -> RawAccount:
    """A listing that names no account belongs to the one account imported with it."""
    if len(accounts) != 1:
        found = ", ".join(sorted(accounts)) or "none"
        raise InputError.single(
            file.path, f"this listing names no account and the import holds {len(accounts)} AWS accounts "
            f"({found}); import it with one account's files at a time")
    return account(next(iter(accounts)), file)
