"""Access levels, and the verb heuristic for actions no catalogue describes (GCP and Azure).

GCP permissions look like `service.resource.verb` (`aiplatform.endpoints.predict`), Azure actions like
`Namespace/resourceType/.../verb` (`Microsoft.Storage/storageAccounts/read`,
`.../chat/completions/action`). The verb decides the level:

- permissions management: GCP `setIamPolicy`, create/update/delete of custom roles (`iam.roles.*`);
  Azure write/delete/action verbs under `Microsoft.Authorization` (role assignments and definitions,
  elevateAccess).
- write: impersonation verbs that read like reads but mint credentials (GCP `getAccessToken`,
  `getOpenIdToken`, `signBlob`, `signJwt`, `actAs`, `implicitDelegation`), every create/update/
  delete/set/... verb, Azure `write`, `delete` and `action` (listKeys/action returns secrets).
- list / read: get, list, read, predict, generateContent, search, query, ... (model invocation counts
  as read, as AWS classifies bedrock:InvokeModel and sagemaker:InvokeEndpoint).
- anything else: write, and flagged as unrecognised so reports show it was a guess.

Wildcards: `*`, `<gcp service>.*` and `<Azure namespace>/*` are full service wildcards (the caller
reports them as admin); a wildcard in the verb is permissions management when it can reach an IAM
verb (any GCP resource has setIamPolicy; Azure only under Microsoft.Authorization), else write.
"""

from __future__ import annotations

from enum import StrEnum

from nhiaudit.permissions.patterns import actions_intersect, has_wildcard


class AccessLevel(StrEnum):
    LIST = "list"
    READ = "read"
    TAGGING = "tagging"
    WRITE = "write"
    PERMISSIONS_MANAGEMENT = "permissions_management"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {
    AccessLevel.LIST: 0,
    AccessLevel.READ: 1,
    AccessLevel.TAGGING: 2,
    AccessLevel.WRITE: 3,
    AccessLevel.PERMISSIONS_MANAGEMENT: 4,
}

_IMPERSONATION_VERBS = frozenset(
    {"getaccesstoken", "getopenidtoken", "signblob", "signjwt", "actas", "implicitdelegation",
     "generateaccesstoken", "generateidtoken"}
)
_READ_PREFIXES = (
    "get", "read", "predict", "search", "query", "lookup", "view", "describe", "batchget", "check",
    "test", "access", "download", "explain", "count", "computetokens", "export", "fetch", "show",
)
_READ_CONTAINS = ("predict", "generatecontent")
_WRITE_PREFIXES = (
    "create", "update", "delete", "write", "patch", "set", "undelete", "insert", "remove", "add", "attach",
    "detach", "run", "invoke", "execute", "use", "enable", "disable", "start", "stop", "cancel", "deploy",
    "undeploy", "import", "upload", "move", "restore", "rotate", "reset", "sign", "destroy", "action",
    "put", "post", "modify", "manage", "approve", "reject", "publish", "send", "connect", "resume",
    "suspend", "resize", "rollback", "truncate", "purge", "regenerate", "renew", "revoke", "grant",
    "assign", "associate", "disassociate", "bind", "unbind", "promote", "failover", "apply", "login",
    "drop", "admin", "setiampolicy", "impersonate",
)
_AZURE_AUTHZ = "microsoft.authorization"
_GCP_ROLE_ADMIN_VERBS = frozenset({"create", "update", "delete", "undelete"})


def is_cloud_native_action(action: str) -> bool:
    """True for GCP permissions and Azure actions (no AWS `service:Action` shape)."""
    return "/" in action or ("." in action and ":" not in action)


def is_service_wildcard(action: str) -> bool:
    """`*`, `svc:*` (AWS), `svc.*` (GCP) or `Namespace/*` (Azure) with a literal service part."""
    if action == "*":
        return True
    for sep in (":", "/", "."):
        head, found, tail = action.partition(sep)
        if found and tail == "*" and head and not has_wildcard(head):
            return True
    return False


def classify_cloud_action(action: str) -> tuple[AccessLevel, bool]:
    """(level, recognised) for a GCP permission or Azure action, possibly with wildcards."""
    if "/" in action:
        return _classify_azure(action)
    return _classify_gcp(action)


def _classify_verb(verb: str) -> tuple[AccessLevel, bool]:
    if verb in _IMPERSONATION_VERBS:
        return AccessLevel.WRITE, True
    if verb.startswith("list"):
        return AccessLevel.LIST, True
    if verb.startswith(_READ_PREFIXES) or any(word in verb for word in _READ_CONTAINS):
        return AccessLevel.READ, True
    if verb.startswith(_WRITE_PREFIXES):
        return AccessLevel.WRITE, True
    return AccessLevel.WRITE, False


def _classify_azure(action: str) -> tuple[AccessLevel, bool]:
    segments = action.lower().split("/")
    namespace, verb = segments[0], segments[-1]
    authz = actions_intersect(namespace, _AZURE_AUTHZ)
    if has_wildcard(verb):
        return (AccessLevel.PERMISSIONS_MANAGEMENT if authz else AccessLevel.WRITE), True
    if verb == "read":
        return AccessLevel.READ, True
    if verb in ("write", "delete", "action"):
        # elevateAccess/action and role assignment/definition writes manage permissions.
        return (AccessLevel.PERMISSIONS_MANAGEMENT if authz else AccessLevel.WRITE), True
    return _classify_verb(verb)


def _classify_gcp(action: str) -> tuple[AccessLevel, bool]:
    segments = action.split(".")
    verb = segments[-1].lower()
    if has_wildcard(verb):
        return AccessLevel.PERMISSIONS_MANAGEMENT, True
    if verb == "setiampolicy":
        return AccessLevel.PERMISSIONS_MANAGEMENT, True
    if len(segments) >= 3 and segments[0].lower() == "iam" and segments[-2].lower() == "roles" and (
        verb in _GCP_ROLE_ADMIN_VERBS
    ):
        return AccessLevel.PERMISSIONS_MANAGEMENT, True
    return _classify_verb(verb)


# Families of permission-management actions per cloud, to tell whether a wildcard minus exclusions
# (Azure Contributor: `*` minus `Microsoft.Authorization/*/Write`...) still manages permissions.
PERMISSIONS_MANAGEMENT_FAMILIES: dict[str, tuple[str, ...]] = {
    "azure": ("Microsoft.Authorization/*/write", "Microsoft.Authorization/*/delete"),
    "gcp": ("*.setIamPolicy", "iam.roles.*"),
}


# GCP basic ("primitive") roles that amount to administrator on the scope they are bound on: Owner may
# change IAM policies; Editor may change almost every resource (and act as the service accounts that run
# them), so both count as administrator, like AWS AdministratorAccess.
GCP_PRIMITIVE_ADMIN_ROLES = frozenset({"roles/owner", "roles/editor"})
_GCP_ADMIN_ROLE_SUFFIXES = (".admin", "Admin")


def is_gcp_admin_role(role: str) -> bool:
    """A predefined service-administrator role (`roles/storage.admin`, `roles/iam.serviceAccountAdmin`)."""
    return role.startswith("roles/") and "." in role and role.endswith(_GCP_ADMIN_ROLE_SUFFIXES)
