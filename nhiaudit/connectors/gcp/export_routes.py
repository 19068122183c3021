"""Which project each imported record belongs to, and the RawProject it is added to.

Records name their project by id (`projects/P/...`, `NAME@P.iam.gserviceaccount.com`, self links) or by
number (Cloud Asset's `project`, workload identity pools, Cloud Run's Knative namespace). Numbers become
ids through what other files reveal (Cloud Asset results naming both, the default compute service account
`N-compute@developer.gserviceaccount.com` in a project's list), else the file's TARGET, else the one project
the import is about; otherwise the user is asked for TARGET=FILE.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nhiaudit.connectors.gcp import export_assets as assets
from nhiaudit.connectors.gcp.raw import RawPolicy, RawProject
from nhiaudit.connectors.gcp.transform_common import GcpDataError, project_of_email
from nhiaudit.connectors.interface import ExportFile
from nhiaudit.errors import InputError
from nhiaudit.permissions.gcp_names import canonical_resource

_PROJECT_ID = re.compile(r"^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_SCOPE = re.compile(r"^(folders|organizations)/\d+$")
_EMAIL = re.compile(r"^[^@\s/]+@[^@\s/]+$")
_DEFAULT_COMPUTE = re.compile(r"^(\d+)-compute@developer\.gserviceaccount\.com$")
_CRM = "//cloudresourcemanager.googleapis.com/"
_RUN_SYSTEM_LABELS = ("cloud.googleapis.com/", "serving.knative.dev/", "run.googleapis.com/")
TARGET_HELP = ("give it as --import TARGET=FILE, TARGET being a project id, folders/N, organizations/N or a "
               "service-account e-mail")


def check_target(target: str) -> str | None:
    """None when `target` is a valid TARGET, else the problem."""
    if _PROJECT_ID.match(target) or _SCOPE.match(target) or _EMAIL.match(target):
        return None
    return (f"{target!r} is not a TARGET: expected a project id, folders/N, organizations/N or a "
            "service-account e-mail")


@dataclass
class Slot:
    raw: RawProject

    def service_accounts_add(self, item: Mapping[str, Any]) -> None:
        if self.raw.service_accounts is None:
            self.raw.service_accounts = []
        if all(sa.get("email") != item.get("email") for sa in self.raw.service_accounts):
            self.raw.service_accounts.append(item)


class Router:
    def __init__(self) -> None:
        self.projects: dict[str, RawProject] = {}
        self.files: dict[str, list[str]] = {}
        self.numbers: dict[str, str] = {}  # project number -> id
        self._roles: dict[str, Mapping[str, Any]] = {}  # predefined and organisation roles: every project
        self._scoped: list[tuple[RawPolicy, str]] = []  # folder / organisation policies, with their file
        self._scoped_deny: list[tuple[RawPolicy, str]] = []  # folder / organisation deny policies
        self._organizations: dict[str, tuple[Mapping[str, Any], str]] = {}  # organizations/N -> (it, file)
        self._ids: set[str] = set()  # project ids named anywhere (for the one-project fallback)

    # ---- what other files reveal ---------------------------------------------------------------------

    def learn(self, kind: str, items: list[Any], target: str | None) -> None:
        for item in items:
            if not isinstance(item, Mapping):
                continue
            if kind == "gcp-service-accounts":
                project = self._sa_project(item, target)
                if project:
                    self._ids.add(project)
                    found = _DEFAULT_COMPUTE.match(str(item.get("email", "")))
                    if found:
                        self.numbers.setdefault(found.group(1), project)
            elif kind == "gcp-asset-iam-policies":
                number = str(item.get("project", "")).removeprefix("projects/")
                named = _project_in_name(str(item.get("resource", "")))
                if named:
                    self._ids.add(named)
                    if number.isdigit():
                        self.numbers.setdefault(number, named)
            elif kind == "gcp-asset-export":
                number, named = assets.project_number(item), assets.project_id_named(item, _project_in_name)
                if named:
                    self._ids.add(named)
                    if number and number.isdigit():
                        self.numbers.setdefault(number, named)
                elif target and _PROJECT_ID.match(target):
                    self._ids.add(target)
            elif target and _PROJECT_ID.match(target):
                self._ids.add(target)

    # ---- projects -----------------------------------------------------------------------------------

    def project(self, project_id: str, file: ExportFile) -> Slot:
        raw = self.projects.setdefault(project_id, RawProject(project_id=project_id))
        names = self.files.setdefault(project_id, [])
        if str(file.path) not in names:
            names.append(str(file.path))
        for number, pid in self.numbers.items():
            if pid == project_id:
                raw.project_number = number
        return Slot(raw)

    def resolve(self, project: str, target: str | None, what: str) -> str:
        """A project id from an id or number named by a record."""
        if project and not project.isdigit() and project != "-":
            return project
        if project in self.numbers:
            return self.numbers[project]
        if target and _PROJECT_ID.match(target):
            if project.isdigit():
                self.numbers.setdefault(project, target)
            return target
        if len(self._ids) == 1:
            only = next(iter(self._ids))
            if project.isdigit():
                self.numbers.setdefault(project, only)
            return only
        raise GcpDataError(f"{what} names project {project or '(none)'}, which no other imported file names; "
                           + TARGET_HELP)

    def _sa_project(self, item: Mapping[str, Any], target: str | None) -> str | None:
        name = str(item.get("name", ""))
        parts = name.split("/")
        if len(parts) >= 2 and parts[0] == "projects" and parts[1] not in ("", "-"):
            return parts[1]
        return str(item.get("projectId") or "") or project_of_email(str(item.get("email", ""))) or (
            target if target and _PROJECT_ID.match(target) else None)

    def project_of_sa(self, item: Mapping[str, Any], target: str | None) -> str:
        found = self._sa_project(item, target)
        return found if found else self.resolve("", target, f"service account {item.get('email')}")

    def project_of_key(self, name: str, target: str | None) -> tuple[str, str]:
        parts = name.split("/")
        if len(parts) != 6 or parts[0] != "projects" or parts[2] != "serviceAccounts" or parts[4] != "keys":
            raise GcpDataError("a key name is projects/P/serviceAccounts/E/keys/K", ("name",))
        email = parts[3]
        project = parts[1] if parts[1] != "-" else (project_of_email(email) or "")
        return self.resolve(project, target, f"key of {email}"), email

    def project_of_name(self, name: str, target: str | None) -> str:
        parts = name.split("/")
        if len(parts) < 2 or parts[0] != "projects":
            raise GcpDataError("expected a name projects/P/...", ("name",))
        return self.resolve(parts[1], target, name)

    def project_of_activity(self, item: Mapping[str, Any], target: str | None) -> str:
        activity = item.get("activity") or {}
        for subject in (activity.get("serviceAccount"), activity.get("serviceAccountKey")):
            if isinstance(subject, Mapping) and subject.get("fullResourceName"):
                named = _project_in_name(str(subject["fullResourceName"]))
                if named:
                    return self.resolve(named, target, "activity")
        return self.resolve(_project_in_name(str(item.get("fullResourceName", ""))) or "", target, "activity")

    def project_of_instance(self, item: Mapping[str, Any], target: str | None) -> str:
        return self.resolve(_project_in_name(str(item.get("selfLink", ""))) or "", target,
                            f"instance {item.get('name')}")

    def run_service(self, item: Mapping[str, Any], target: str | None) -> tuple[str, Mapping[str, Any]]:
        """A Cloud Run service in the v2 shape the transform reads (gcloud prints the Knative v1 shape)."""
        if "metadata" not in item:
            return self.project_of_name(str(item["name"]), target), item
        meta = item["metadata"]
        pod = ((item.get("spec") or {}).get("template") or {}).get("spec") or {}
        email = pod.get("serviceAccountName")
        namespace = str(meta.get("namespace", ""))
        if not namespace and email:
            namespace = project_of_email(str(email)) or ""
        project = self.resolve(namespace, target, f"Cloud Run service {meta['name']}")
        labels = meta.get("labels") or {}
        location = str(labels.get("cloud.googleapis.com/location") or "-")
        service: dict[str, Any] = {
            "name": f"projects/{project}/locations/{location}/services/{meta['name']}",
            "labels": {k: v for k, v in labels.items() if not k.startswith(_RUN_SYSTEM_LABELS)},
            "template": {"serviceAccount": email} if email else {},
        }
        # The containers' environment, same {name, value} shape in v1 and v2 (read for credential sightings).
        containers = [{"name": c.get("name"), "env": c["env"]} for c in pod.get("containers") or []
                      if isinstance(c, dict) and isinstance(c.get("env"), list)]
        if containers:
            service["template"] = {**service["template"], "containers": containers}
        return project, service

    # ---- policies and roles ---------------------------------------------------------------------------

    def policy_target(self, target: str | None, file: ExportFile) -> str:
        if target is None:
            raise InputError.single(file.path, "this IAM policy does not say whose it is; " + TARGET_HELP)
        if _EMAIL.match(target):
            project = project_of_email(target) or self.resolve(
                _DEFAULT_COMPUTE.sub(r"\1", target) if _DEFAULT_COMPUTE.match(target) else "", None,
                f"service account {target}")
            return f"projects/{project}/serviceAccounts/{target}"
        if _SCOPE.match(target):
            return target
        return f"projects/{target}"

    def add_policy(self, policy: RawPolicy, file: ExportFile) -> None:
        resource = canonical_resource(policy.resource)
        if _SCOPE.match(resource):
            self._scoped.append((RawPolicy(resource, policy.policy), str(file.path)))
            return
        project = _project_in_name(resource)
        if project is None:
            raise GcpDataError(f"cannot tell the project of {resource}; " + TARGET_HELP)
        self.project(self.resolve(project, None, resource), file).raw.policies.append(
            RawPolicy(resource, policy.policy))

    def add_role(self, item: Mapping[str, Any], file: ExportFile) -> None:
        name = str(item["name"])
        if name.startswith("projects/"):
            self.project(self.project_of_name(name, file.target), file).raw.roles[name] = item
        else:
            self._roles[name] = item

    def add_asset_result(self, item: Mapping[str, Any], file: ExportFile) -> None:
        resource = str(item["resource"])
        canonical = canonical_resource(resource)
        policy = item["policy"]
        if _SCOPE.match(canonical):
            self._scoped.append((RawPolicy(canonical, policy), str(file.path)))
            return
        number = str(item.get("project", "")).removeprefix("projects/")
        project = self.resolve(_project_in_name(resource) or number, file.target, resource)
        raw = self.project(project, file).raw
        ancestors = [str(f) for f in item.get("folders") or []] + (
            [str(item["organization"])] if item.get("organization") else [])
        for scope in ancestors:
            if scope not in raw.ancestors:
                raw.ancestors.append(scope)
        raw.policies.append(RawPolicy(resource, policy))

    def add_asset(self, asset: Mapping[str, Any], file: ExportFile) -> str | None:
        """A Cloud Asset export line: its allow policy, and its project's number and ancestry. Returns the
        asset's project id (None for a folder's or the organisation's asset)."""
        policy = assets.asset_policy(asset)
        if policy is not None and _SCOPE.match(policy.resource):
            self._scoped.append((policy, str(file.path)))
            return None
        if str(asset.get("assetType", "")).startswith(("cloudresourcemanager.googleapis.com/Folder",
                                                       "cloudresourcemanager.googleapis.com/Organization")):
            return None
        number = assets.project_number(asset) or ""
        project = self.resolve(assets.project_id_named(asset, _project_in_name) or number, file.target,
                               str(asset["name"]))
        raw = self.project(project, file).raw
        for scope in assets.ancestry(asset):
            if scope not in raw.ancestors:
                raw.ancestors.append(scope)
        if policy is not None:
            raw.policies.append(policy)
        return project

    def add_deny_policy(self, policy: Mapping[str, Any], file: ExportFile) -> None:
        """A deny policy on its attachment point: TARGET when given, else the one its name encodes."""
        point = assets.deny_attachment(policy)
        if file.target is not None:
            point = file.target if _SCOPE.match(file.target) else None if _EMAIL.match(file.target) else \
                f"projects/{file.target}"
        if point is None:
            raise GcpDataError("this deny policy does not say where it is attached; " + TARGET_HELP, ("name",))
        if _SCOPE.match(point):
            self._scoped_deny.append((RawPolicy(point, policy), str(file.path)))
            return
        project = self.resolve(point.removeprefix("projects/"), None, f"deny policy {policy.get('name')}")
        raw = self.project(project, file).raw
        raw.deny_policies.append(RawPolicy(f"projects/{project}", policy))
        issue = assets.rules_unknown(policy, project)
        if issue is not None:
            raw.issues.append(issue)

    def add_organization(self, item: Mapping[str, Any], file: ExportFile) -> None:
        """An Organization (`gcloud organizations describe`, a Cloud Asset Organization): its own domain
        goes to the projects below it (finish)."""
        self._organizations.setdefault(str(item["name"]), (item, str(file.path)))

    def finish(self) -> None:
        """Folder and organisation policies, and organisations, go to the projects below them (every
        imported project when none says where it lies: an import is one estate); shared role definitions
        to every project."""
        for name, (organization, path) in sorted(self._organizations.items()):
            for raw in self._below(name, path):
                raw.organization = organization
        for policy, path in self._scoped_deny:
            for raw in self._below(policy.resource, path):
                raw.deny_policies.append(policy)
                issue = assets.rules_unknown(policy.policy, raw.project_id)
                if issue is not None:
                    raw.issues.append(issue)
        for policy, path in self._scoped:
            for raw in self._below(policy.resource, path):
                raw.policies.append(policy)
        for raw in self.projects.values():
            raw.roles = {**self._roles, **raw.roles}

    def _below(self, scope: str, path: str) -> list[RawProject]:
        """The projects below a folder or organisation (their files now list `path`)."""
        below = [raw for raw in self.projects.values() if scope in raw.ancestors]
        if not below:
            below = [raw for raw in self.projects.values() if not raw.ancestors or
                     all(a.startswith("folders/") for a in raw.ancestors)]
            for raw in below:
                raw.ancestors.append(scope)
        if not below:
            raise InputError.single(path, f"{scope} applies to the projects below it: import at least one "
                                          "of them (e.g. its service accounts)")
        for raw in below:
            if path not in self.files[raw.project_id]:
                self.files[raw.project_id].append(path)
        return below


def _project_in_name(name: str) -> str | None:
    """P in `.../projects/P/...` (a self link, a full or relative resource name), or None."""
    text = name[len(_CRM):] if name.startswith(_CRM) else name
    parts = text.split("/")
    for index, part in enumerate(parts[:-1]):
        if part == "projects" and parts[index + 1] not in ("", "_", "-"):
            return parts[index + 1]
    return None
