"""Import of gcloud exports (`--format=json`). Files become the same RawProject as live collection, so the
same transforms apply. Which project a record belongs to comes from the record itself (names, self links,
e-mails), from the project numbers other files reveal, or from the user (`--import TARGET=FILE`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhiaudit.connectors.gcp import export_shapes as shapes
from nhiaudit.connectors.gcp.assemble import assemble_project
from nhiaudit.connectors.gcp.export_routes import Router
from nhiaudit.connectors.gcp.raw import RawPolicy, RawProject
from nhiaudit.connectors.gcp.transform_common import GcpDataError
from nhiaudit.connectors.interface import ExportFile, ExportImporter
from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.inventory.model import Provider, SourceInfo
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.jsonlocate import locate
from nhiaudit.jsonshape import JsonPath, format_path

MAX_REPORTED_PROBLEMS = 20
_DATA_ERRORS = (GcpDataError, KeyError, TypeError, ValueError, AttributeError)
_POLICY_KEYS = frozenset({"bindings", "etag", "version", "auditConfigs"})


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
    if "resource" in item and "policy" in item:
        return shapes.ASSET_IAM
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
    }

    def detect(self, file: ExportFile) -> str | None:
        data = file.data
        if not file.is_json:
            return None
        if _is_policy(data):
            return shapes.IAM_POLICY
        if isinstance(data, Mapping):
            for key, kind in (("activities", shapes.ACTIVITIES), ("results", shapes.ASSET_IAM)):
                if isinstance(data.get(key), list) and set(data) <= {key, "nextPageToken"}:
                    return kind if data[key] else shapes.EMPTY  # the REST reply's envelope
            return _item_kind(data)
        if isinstance(data, list):
            if not data:
                return None  # gcloud prints [] for an empty list of anything: nothing tells what it is
            kinds = {_item_kind(item) for item in data}
            return kinds.pop() if len(kinds) == 1 else None
        return None

    def build(self, files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
        for kind, file in files:  # every file's shape first: all problems of all files in one run
            _check_shape(kind, file)
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
        now = datetime.now(UTC)
        snapshots = []
        for project_id, raw in sorted(router.projects.items()):
            names = router.files[project_id]
            source = SourceInfo(provider=Provider.GCP, account=project_id, method="import", collected_at=now,
                                detail=_detail(raw, names))
            try:
                snapshots.append(assemble_project(raw, source))
            except _DATA_ERRORS as exc:
                raise InputError.single(names[0], f"project {project_id}: {exc}") from None
        return snapshots


_ORDER = {shapes.SERVICE_ACCOUNTS: 0, shapes.ASSET_IAM: 1}  # they reveal project numbers: read first


def _items(kind: str, data: Any) -> list[Any]:
    if kind == shapes.EMPTY:
        return []
    if isinstance(data, Mapping) and kind in (shapes.ACTIVITIES, shapes.ASSET_IAM) and (
            "activities" in data or "results" in data):
        return list(data.get("activities") or data.get("results") or [])
    if kind == shapes.IAM_POLICY:
        return [data]
    return list(data) if isinstance(data, list) else [data]


def _add(router: Router, kind: str, file: ExportFile) -> None:
    items = _items(kind, file.data)
    if kind == shapes.IAM_POLICY:
        router.add_policy(RawPolicy(resource=router.policy_target(file.target, file), policy=file.data), file)
        return
    for index, item in enumerate(items):
        try:
            _add_item(router, kind, item, file)
        except GcpDataError as exc:
            raise exc.within(*_item_prefix(file.data, index)) from None


def _item_prefix(data: Any, index: int) -> JsonPath:
    if isinstance(data, Mapping):
        for key in ("activities", "results"):
            if key in data:
                return (key, index)
        return ()
    return (index,)


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
        router.project(router.project_of_activity(item, file.target), file).raw.activities.append(item)
    elif kind == shapes.INSTANCES:
        router.project(router.project_of_instance(item, file.target), file).raw.instances.append(item)
    elif kind == shapes.RUN_SERVICES:
        project, service = router.run_service(item, file.target)
        router.project(project, file).raw.run_services.append(service)
    elif kind == shapes.FUNCTIONS:
        router.project(router.project_of_name(str(item["name"]), file.target), file).raw.functions.append(item)


def _check_shape(kind: str, file: ExportFile) -> None:
    found = shapes.problems(kind, file.data)
    if not found:
        return
    problems = [
        InputProblem(_where(file, p.path), f"not a valid {kind} export: {format_path(p.path)}: {p.message}")
        for p in found[:MAX_REPORTED_PROBLEMS]
    ]
    if len(found) > MAX_REPORTED_PROBLEMS:
        more = len(found) - MAX_REPORTED_PROBLEMS
        problems.append(InputProblem(problems[-1].location, f"... and {more} more problem(s) in this file"))
    raise InputError(problems)


def _where(file: ExportFile, path: JsonPath) -> SourceLocation:
    line, column = locate(file.text, path)
    return SourceLocation(str(file.path), line, column)


def _file_error(file: ExportFile, kind: str, exc: Exception) -> InputError:
    what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
    path = exc.path if isinstance(exc, GcpDataError) else ()
    return InputError([InputProblem(_where(file, path), f"not a valid {kind} export: {what}")])


def _detail(raw: RawProject, files: list[str]) -> str:
    lacking = []
    if raw.service_accounts is None:
        lacking.append("service accounts (gcloud iam service-accounts list)")
    if not any(p.resource == f"projects/{raw.project_id}" for p in raw.policies):
        lacking.append("the project's IAM policy (gcloud projects get-iam-policy)")
    text = f"imported {', '.join(Path(f).name for f in files)}"
    return text + (f"; not imported: {'; '.join(lacking)}" if lacking else "")
