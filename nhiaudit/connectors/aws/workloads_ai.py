"""AI workloads that run as an IAM role: Bedrock agents and knowledge bases (their service roles) and SageMaker
notebook instances (their execution role). One listing per region, one describe per resource (bounded).
Get + transform."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.shapes import reply_list
from nhiaudit.connectors.aws.workloads_ecs import Listing, describe_each
from nhiaudit.inventory.model import Provider, Workload

BEDROCK_AGENT = "bedrock_agent"
BEDROCK_KNOWLEDGE_BASE = "bedrock_knowledge_base"
SAGEMAKER_NOTEBOOK = "sagemaker_notebook"
MAX_PER_REGION = 200  # describes per region and service; beyond, a "truncated" collection issue


# ---- get: API calls, raw dicts out ----------------------------------------------------------------


def _names(items: list[Any], key: str) -> list[str]:
    if not all(isinstance(i, Mapping) and isinstance(i.get(key), str) and i[key] for i in items):
        raise RawDataError(f"malformed reply: an entry without {key}")
    return sorted({str(i[key]) for i in items})


def _checked(kind: str, reply: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(reply)
    data.pop("ResponseMetadata", None)
    export_shapes.check(kind, data)
    return data


def get_bedrock_agents(
    client: Any, failures: tuple[type[BaseException], ...], limit: int = MAX_PER_REGION
) -> Listing:
    pages = client.get_paginator("list_agents").paginate(PaginationConfig={"PageSize": 100})
    ids = _names([a for page in pages for a in reply_list(page, "agentSummaries")], "agentId")

    def describe(agent_id: str) -> Mapping[str, Any]:
        return dict(_checked(export_shapes.BEDROCK_AGENT, client.get_agent(agentId=agent_id))["agent"])

    return describe_each(ids, describe, failures, limit)


def get_knowledge_bases(
    client: Any, failures: tuple[type[BaseException], ...], limit: int = MAX_PER_REGION
) -> Listing:
    pages = client.get_paginator("list_knowledge_bases").paginate(PaginationConfig={"PageSize": 100})
    ids = _names([k for page in pages for k in reply_list(page, "knowledgeBaseSummaries")], "knowledgeBaseId")

    def describe(kb_id: str) -> Mapping[str, Any]:
        reply = client.get_knowledge_base(knowledgeBaseId=kb_id)
        return dict(_checked(export_shapes.BEDROCK_KNOWLEDGE_BASE, reply)["knowledgeBase"])

    return describe_each(ids, describe, failures, limit)


def get_notebook_instances(
    client: Any, failures: tuple[type[BaseException], ...], limit: int = MAX_PER_REGION
) -> Listing:
    pages = client.get_paginator("list_notebook_instances").paginate(PaginationConfig={"PageSize": 100})
    names = _names([n for page in pages for n in reply_list(page, "NotebookInstances")], "NotebookInstanceName")

    def describe(name: str) -> Mapping[str, Any]:
        reply = client.describe_notebook_instance(NotebookInstanceName=name)
        return _checked(export_shapes.SAGEMAKER_NOTEBOOK, reply)

    return describe_each(names, describe, failures, limit)


# ---- transform: pure ------------------------------------------------------------------------------


def _workload(arn: str, kind: str, name: str, role: str) -> Workload:
    _, _, region, account, _ = arn_parts(arn)
    return Workload(id=arn, provider=Provider.AWS, account=account, kind=kind, name=name, identity_id=role,
                    region=region or None)


def transform_bedrock_agents(agents: Iterable[Mapping[str, Any]]) -> list[Workload]:
    return [
        _workload(str(a["agentArn"]), BEDROCK_AGENT, str(a.get("agentName") or a.get("agentId")),
                  str(a["agentResourceRoleArn"]))
        for a in agents
        if a.get("agentResourceRoleArn")
    ]


def transform_knowledge_bases(knowledge_bases: Iterable[Mapping[str, Any]]) -> list[Workload]:
    return [
        _workload(str(k["knowledgeBaseArn"]), BEDROCK_KNOWLEDGE_BASE, str(k.get("name") or k.get("knowledgeBaseId")),
                  str(k["roleArn"]))
        for k in knowledge_bases
        if k.get("roleArn")
    ]


def transform_notebook_instances(notebooks: Iterable[Mapping[str, Any]]) -> list[Workload]:
    return [
        _workload(str(n["NotebookInstanceArn"]), SAGEMAKER_NOTEBOOK, str(n["NotebookInstanceName"]),
                  str(n["RoleArn"]))
        for n in notebooks
        if n.get("RoleArn")
    ]
