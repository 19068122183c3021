"""Import of gcloud exports (`--format=json`). Files become the same RawProject as live collection, so the
same transforms apply. Which project a record belongs to comes from the record itself (names, self links,
e-mails), from the project numbers other files reveal, or from the user (`--import TARGET=FILE`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from nhiaudit.connectors.gcp import export_assets as assets
from nhiaudit.connectors.gcp import export_shapes as shapes
from nhiaudit.connectors.gcp.assemble import assemble_project
from nhiaudit.connectors.gcp.export_routes import Router
from nhiaudit.connectors.gcp.raw import RawPolicy, RawProject
from nhiaudit.connectors.gcp.transform_accounts import KEY_ACTIVITY
from nhiaudit.connectors.gcp.transform_common import GcpDataError
from nhiaudit.connectors.interface import ExportFile, ExportImporter, built_when_shaped, import_detail, location_in
from nhiaudit.errors import InputError, InputProblem
from nhiaudit.inventory.model import Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.jsonshape import JsonPath, ShapeProblem

_DATA_ERRORS = (GcpDataError, KeyError, TypeError, ValueError, AttributeError)
_POLICY_KEYS = frozenset({"bindings", "etag", "version", "auditConfigs"})
# Fields only an Organization has beside name and displayName (v3, and v1 as gcloud and Cloud Asset print).
_ORGANIZATION_KEYS = frozenset({"directoryCustomerId", "owner", "state", "lifecycleState", "createTime",
                                "creationTime"})


def _is_policy(data: Any) -> bool:
    return isinstance(data, Mapping) and bool(data) and set(data) <= _POLICY_KEYS and (
        "bindings" in data or "etag" in data)


def _item_kind(item: Any) -> str | None:
    """The export an item of a gcloud list (or a single `describe`) belongs to."""
    if not isinstance(item, Mapping):
        return None
    name = item.get("name")
    name = name if isinstance(name, str) else ""
    if "activityType" in item and "activity" in item:
        return shapes.ACTIVITIES
    if assets.is_asset(item):
        return shapes.ASSET_EXPORT
    if assets.is_deny_policy(item):
        return shapes.DENY_POLICIES
    if "resource" in item and "policy" in item:
        return shapes.ASSET_IAM
    if name.startswith("organizations/") and "displayName" in item and _ORGANIZATION_KEYS & set(item):
        return shapes.ORGANIZATIONS
    if str(item.get("apiVersion", "")).startswith("serving.knative.dev/") and item.get("kind") == "Service":
        return shapes.RUN_SERVICES
    if "/serviceAccounts/" in name and "/keys/" in name:
        return shapes.KEYS
    if "email" in item and ("/serviceAccounts/" in name or "uniqueId" in item):
        return shapes.SERVICE_ACCOUNTS
    if "/workloadIdentityPools/" in name and "/providers/" in name:
        return shapes.WIF_PROVIDERS
    if (name.startswith("roles/") or "/roles/" in name) and ({"includedPermissions", "title", "stage"} & set(item)):
        return shapes.ROLES
    if item.get("kind") == "compute#instance" or "/instances/" in str(item.get("selfLink", "")):
        return shapes.INSTANCES
    if "/services/" in name and "template" in item:
        return shapes.RUN_SERVICES
    if "/functions/" in name and ({"serviceConfig", "buildConfig", "environment"} & set(item)):
        return shapes.FUNCTIONS
    return None


class GcpExportImporter(ExportImporter):
    formats = {
        shapes.SERVICE_ACCOUNTS: "gcloud iam service-accounts list --format=json",
        shapes.KEYS: "gcloud iam service-accounts keys list --iam-account=EMAIL --format=json",
        shapes.IAM_POLICY: "gcloud projects|resource-manager folders|organizations|iam service-accounts "
                           "get-iam-policy X --format=json, given as --import X=FILE",
        shapes.ROLES: "gcloud iam roles describe|list --format=json",
        shapes.ASSET_IAM: "gcloud asset search-all-iam-policies --format=json",
        shapes.WIF_PROVIDERS: "gcloud iam workload-identity-pools providers list --format=json",
        shapes.ACTIVITIES: "gcloud policy-intelligence query-activity --activity-type=serviceAccountLastAuthentication"
                           "|serviceAccountKeyLastAuthentication --format=json",
        shapes.INSTANCES: "gcloud compute instances list --format=json",
        shapes.RUN_SERVICES: "gcloud run services list --format=json",
        shapes.FUNCTIONS: "gcloud functions list --v2 --format=json",
        shapes.ASSET_EXPORT: "gcloud asset export --content-type=iam-policy|resource (newline-delimited JSON "
                             "or a JSON list)",
        shapes.DENY_POLICIES: "gcloud iam policies get|list --kind=denypolicies --attachment-point=X --format=json",
        shapes.ORGANIZATIONS: "gcloud organizations describe|list --format=json (the organisation's own domain)",
    }

    def detect(self, file: ExportFile) -> str | None:
        data = file.data
        if not file.is_json:
            return None
        if _is_policy(data):
            return shapes.IAM_POLICY
        if isinstance(data, Mapping):
            key = _envelope_key(data)
            if key is not None:  # a REST reply's envelope around a list
                items = [item for item, _ in _enveloped(data, key)]
                if not items:
                    return shapes.EMPTY
                kinds = {_item_kind(item) for item in items}
                return kinds.pop() if len(kinds) == 1 else None
            return _item_kind(data)
        if isinstance(data, list):
            if not data:
                return None  # gcloud prints [] for an empty list of anything: nothing tells what it is
            kinds = {_item_kind(item) for item in data}
            return kinds.pop() if len(kinds) == 1 else None
        return None

    def build(self, files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
        return built_when_shaped(files, _shape_problems, lambda: _projects(files))


def _projects(files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
    """One snapshot per project of the (shape-checked) files."""
    router = Router()
    ordered = sorted(files, key=lambda f: (_ORDER.get(f[0], 9), str(f[1].path)))
    for kind, file in ordered:
        try:
            router.learn(kind, _items(kind, file.data), file.target)
        except _DATA_ERRORS as exc:
            raise _file_error(file, kind, exc) from None
    for kind, file in ordered:
        try:
            _add(router, kind, file)
        except _DATA_ERRORS as exc:
            raise _file_error(file, kind, exc) from None
    router.finish()
    snapshots = []
    for project_id, raw in sorted(router.projects.items()):
        names = router.files[project_id]
        source = SourceInfo(provider=Provider.GCP, account=project_id, method="import", collected_at=None,
                            detail=_detail(raw, names))
        try:
            snapshots.append(assemble_project(raw, source))
        except _DATA_ERRORS as exc:
            raise InputError.single(names[0], f"project {project_id}: {exc}") from None
    return snapshots


# They reveal project numbers: read first.
_ORDER = {shapes.SERVICE_ACCOUNTS: 0, shapes.ASSET_IAM: 1, shapes.ASSET_EXPORT: 1}


# REST list replies: the key holding the list, beside paging and metadata fields.
_ENVELOPE_KEYS = ("activities", "results", "assets", "accounts", "keys", "roles", "workloadIdentityPoolProviders",
                  "services", "functions", "policies", "items", "organizations")
_ENVELOPE_EXTRAS = frozenset({"nextPageToken", "readTime", "unreachable", "kind", "id", "selfLink", "warning",
                              "etag"})


def _envelope_key(data: Mapping[str, Any]) -> str | None:
    keys = [k for k in _ENVELOPE_KEYS if k in data]
    if len(keys) != 1 or not set(data) - {keys[0]} <= _ENVELOPE_EXTRAS:
        return None
    value = data[keys[0]]
    if isinstance(value, list):
        return keys[0]
    # Compute's aggregatedList: {"items": {"zones/Z": {"instances": [...]} | {"warning": ...}}}
    if keys[0] == "items" and isinstance(value, Mapping) and all(
            isinstance(v, Mapping) and set(v) <= {"instances", "warning"} for v in value.values()):
        return keys[0]
    return None


def _enveloped(data: Mapping[str, Any], key: str) -> list[tuple[Any, JsonPath]]:
    value = data[key]
    if isinstance(value, list):
        return [(item, (key, i)) for i, item in enumerate(value)]
    return [(item, (key, scope, "instances", i)) for scope, entry in sorted(value.items())
            for i, item in enumerate(entry.get("instances") or [])]


def _located_items(kind: str, data: Any) -> list[tuple[Any, JsonPath]]:
    """The export's records with their paths in the file."""
    if kind == shapes.EMPTY:
        return []
    if kind == shapes.IAM_POLICY:
        return [(data, ())]
    if isinstance(data, Mapping):
        key = _envelope_key(data)
        return _enveloped(data, key) if key is not None else [(data, ())]
    return [(item, (i,)) for i, item in enumerate(data)] if isinstance(data, list) else [(data, ())]


def _items(kind: str, data: Any) -> list[Any]:
    return [item for item, _ in _located_items(kind, data)]


def _add(router: Router, kind: str, file: ExportFile) -> None:
    if kind == shapes.IAM_POLICY:
        router.add_policy(RawPolicy(resource=router.policy_target(file.target, file), policy=file.data), file)
        return
    for item, path in _located_items(kind, file.data):
        try:
            _add_item(router, kind, item, file)
        except GcpDataError as exc:
            raise exc.within(*path) from None


def _add_item(router: Router, kind: str, item: Mapping[str, Any], file: ExportFile) -> None:
    if kind == shapes.SERVICE_ACCOUNTS:
        router.project(router.project_of_sa(item, file.target), file).service_accounts_add(item)
    elif kind == shapes.KEYS:
        project, email = router.project_of_key(str(item["name"]), file.target)
        router.project(project, file).raw.keys.setdefault(email, []).append(item)
    elif kind == shapes.ROLES:
        router.add_role(item, file)
    elif kind == shapes.ASSET_IAM:
        router.add_asset_result(item, file)
    elif kind == shapes.WIF_PROVIDERS:
        router.project(router.project_of_name(str(item["name"]), file.target), file).raw.wif_providers.append(item)
    elif kind == shapes.ACTIVITIES:
        raw = router.project(router.project_of_activity(item, file.target), file).raw
        raw.activities.append(item)
        raw.usage_recorded = raw.usage_recorded or item.get("activityType") == KEY_ACTIVITY
    elif kind == shapes.INSTANCES:
        raw = router.project(router.project_of_instance(item, file.target), file).raw
        raw.instances.append(item)
        raw.listed.add("gce_instance")
    elif kind == shapes.RUN_SERVICES:
        project, service = router.run_service(item, file.target)
        raw = router.project(project, file).raw
        raw.run_services.append(service)
        raw.listed.add("cloud_run")
    elif kind == shapes.FUNCTIONS:
        raw = router.project(router.project_of_name(str(item["name"]), file.target), file).raw
        raw.functions.append(item)
        raw.listed.add("cloud_function")
    elif kind == shapes.DENY_POLICIES:
        router.add_deny_policy(item, file)
    elif kind == shapes.ORGANIZATIONS:
        router.add_organization(item, file)
    elif kind == shapes.ASSET_EXPORT:
        project = router.add_asset(item, file)
        for inner, record, path in assets.asset_items(item):
            try:
                _add_item(router, inner, record, replace(file, target=project or file.target))
            except GcpDataError as exc:
                raise exc.within(*path) from None


def _shape_problems(kind: str, file: ExportFile) -> list[ShapeProblem]:
    data = file.data
    if isinstance(data, Mapping) and kind != shapes.IAM_POLICY and _envelope_key(data) is not None:
        return [replace(p, path=(*path, *p.path)) for item, path in _located_items(kind, data)
                for p in shapes.problems(kind, item)]  # each item of the envelope, with its path in the file
    return shapes.problems(kind, data)


def _file_error(file: ExportFile, kind: str, exc: Exception) -> InputError:
    what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
    path = exc.path if isinstance(exc, GcpDataError) else ()
    return InputError([InputProblem(location_in(file, path), f"not a valid {kind} export: {what}")])


def _detail(raw: RawProject, files: list[str]) -> str:
    lacking = []
    if raw.service_accounts is None:
        lacking.append("service accounts (gcloud iam service-accounts list)")
    if not any(p.resource == f"projects/{raw.project_id}" for p in raw.policies):
        lacking.append("the project's IAM policy (gcloud projects get-iam-policy)")
    if not raw.usage_recorded:
        lacking.append("key use (gcloud policy-intelligence query-activity "
                       "--activity-type=serviceAccountKeyLastAuthentication): no key is reported unused")
    return import_detail(files, lacking)
