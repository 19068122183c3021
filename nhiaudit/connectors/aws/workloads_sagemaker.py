"""SageMaker endpoints as workloads: the code an endpoint serves runs as its models' execution roles.

The role is three reads away: DescribeEndpoint (EndpointConfigName) -> DescribeEndpointConfig
(ProductionVariants[].ModelName, and the config's own ExecutionRoleArn for inference-component endpoints) ->
DescribeModel (ExecutionRoleArn). Live, the chain is bounded per region (endpoints described), and each config
and model is read once per region however many endpoints share it. Import: the three `aws sagemaker
describe-*` outputs, joined by name. The model is the link, not a workload of its own: only an endpoint runs.

Raw shape of one endpoint (live and import alike): {"Endpoint": DescribeEndpoint, "EndpointConfig":
DescribeEndpointConfig or None, "Models": [DescribeModel, ...]}."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nhiaudit.connectors.aws import export_shapes
from nhiaudit.connectors.aws.raw import RawDataError, arn_parts
from nhiaudit.connectors.aws.shapes import reply_list
from nhiaudit.connectors.aws.workloads_ecs import Listing, describe_each, reading
from nhiaudit.inventory.model import Provider, Workload

SAGEMAKER_ENDPOINT = "sagemaker_endpoint"
MAX_ENDPOINTS = 200  # endpoints described per region (each: at most one config and its models, cached)
MAX_VARIANTS = 20  # model names read from one endpoint config (AWS allows 10 variants and 10 shadow ones)
VARIANT_LISTS = ("ProductionVariants", "ShadowProductionVariants")


def _reply(kind: str, operation: str, call: Callable[[], Mapping[str, Any]]) -> dict[str, Any]:
    """One describe, shape-checked; any failure is recorded as this operation's."""
    with reading(operation):
        data = dict(call())
        data.pop("ResponseMetadata", None)
        export_shapes.check(kind, data)
    return data


def model_names(config: Mapping[str, Any]) -> list[str]:
    """The models an endpoint config's variants serve, in order, each once (bounded)."""
    names = [str(v["ModelName"]) for key in VARIANT_LISTS for v in config.get(key) or [] if v.get("ModelName")]
    return list(dict.fromkeys(names))[:MAX_VARIANTS]


class _Cached:
    """One read per name and region: a shared config or model is read once, and so is its failure."""

    def __init__(self, read: Callable[[str], dict[str, Any]], failures: tuple[type[BaseException], ...]) -> None:
        self._read, self._failures = read, failures
        self._seen: dict[str, dict[str, Any] | BaseException] = {}

    def __call__(self, name: str) -> dict[str, Any]:
        if name not in self._seen:
            try:
                self._seen[name] = self._read(name)
            except self._failures as exc:
                self._seen[name] = exc
        found = self._seen[name]
        if isinstance(found, BaseException):
            raise found
        return found


def get_endpoints(
    client: Any, failures: tuple[type[BaseException], ...], limit: int = MAX_ENDPOINTS
) -> Listing:
    pages = client.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 100})
    items = [e for page in pages for e in reply_list(page, "Endpoints")]
    if not all(isinstance(e, Mapping) and isinstance(e.get("EndpointName"), str) and e["EndpointName"]
               for e in items):
        raise RawDataError("malformed reply: an endpoint without EndpointName")
    configs = _Cached(lambda n: _reply(export_shapes.SAGEMAKER_ENDPOINT_CONFIG, "DescribeEndpointConfig",
                                       lambda: client.describe_endpoint_config(EndpointConfigName=n)), failures)
    models = _Cached(lambda n: _reply(export_shapes.SAGEMAKER_MODEL, "DescribeModel",
                                      lambda: client.describe_model(ModelName=n)), failures)

    def describe(name: str) -> Mapping[str, Any]:
        endpoint = _reply(export_shapes.SAGEMAKER_ENDPOINT, "DescribeEndpoint",
                          lambda: client.describe_endpoint(EndpointName=name))
        config_name = endpoint.get("EndpointConfigName")
        config = configs(str(config_name)) if config_name else None
        return {"Endpoint": endpoint, "EndpointConfig": config,
                "Models": [models(m) for m in model_names(config or {})]}

    return describe_each(sorted({str(e["EndpointName"]) for e in items}), describe, failures, limit)


# ---- transform: pure ------------------------------------------------------------------------------


def _roles(config: Mapping[str, Any] | None, models: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(role ARN, what gives it) of an endpoint, each role once, in the order the config names them."""
    found: dict[str, str] = {}
    if config and config.get("ExecutionRoleArn"):
        found[str(config["ExecutionRoleArn"])] = f"config/{config.get('EndpointConfigName')}"
    by_name = {str(m.get("ModelName")): m for m in models}
    for name in model_names(config or {}):
        model = by_name.get(name)
        if model and model.get("ExecutionRoleArn"):
            found.setdefault(str(model["ExecutionRoleArn"]), f"model/{name}")
    return list(found.items())


def transform_endpoints(endpoints: Iterable[Mapping[str, Any]]) -> list[Workload]:
    """One workload per endpoint and execution role; an endpoint whose variants' models run as several roles
    gets one workload per role, the second onwards with the id `<endpoint arn>#<model/NAME>`."""
    out: list[Workload] = []
    for chain in endpoints:
        endpoint = chain["Endpoint"]
        arn = str(endpoint["EndpointArn"])
        _, _, region, account, _ = arn_parts(arn)
        for number, (role, source) in enumerate(_roles(chain.get("EndpointConfig"), chain.get("Models") or [])):
            out.append(Workload(id=arn if number == 0 else f"{arn}#{source}", provider=Provider.AWS,
                                account=account, kind=SAGEMAKER_ENDPOINT, name=str(endpoint["EndpointName"]),
                                identity_id=role, region=region or None))
    return out


def join_endpoints(
    endpoints: Iterable[Mapping[str, Any]],
    configs: Iterable[Mapping[str, Any]],
    models: Iterable[Mapping[str, Any]],
) -> list[tuple[dict[str, Any], list[tuple[str, str]]]]:
    """Imported describe outputs -> each endpoint's raw chain (as live) and what it lacks: (the call that reads
    it, in words).
    Configs and models are matched by name within the endpoint's account and region."""

    def where(arn: str) -> tuple[str, str]:
        _, _, region, account, _ = arn_parts(arn)
        return account, region

    config_of = {(*where(str(c["EndpointConfigArn"])), str(c["EndpointConfigName"])): c for c in configs}
    model_of = {(*where(str(m["ModelArn"])), str(m["ModelName"])): m for m in models}
    chains = []
    for endpoint in endpoints:
        lacking: list[tuple[str, str]] = []
        place = where(str(endpoint["EndpointArn"]))
        name = endpoint.get("EndpointConfigName")
        config = config_of.get((*place, str(name))) if name else None
        if name and config is None:
            lacking.append(("sagemaker:DescribeEndpointConfig",
                            f"endpoint {endpoint['EndpointName']}: describe-endpoint-config of {name}"))
        found = []
        for model in model_names(config or {}):
            if (*place, model) in model_of:
                found.append(model_of[(*place, model)])
            else:
                lacking.append(("sagemaker:DescribeModel",
                                f"endpoint {endpoint['EndpointName']}: describe-model of {model}"))
        chains.append(({"Endpoint": endpoint, "EndpointConfig": config, "Models": found}, lacking))
    return chains
