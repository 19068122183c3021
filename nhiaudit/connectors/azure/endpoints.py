"""Where Microsoft Graph and Azure Resource Manager are reached, and which token scopes they need.

`--azure-cloud public|usgov|china` picks the real endpoints. For emulators and tests (docs/azure-connector.md,
"Endpoints"), `NHIAUDIT_AZURE_GRAPH_ENDPOINT` and `NHIAUDIT_AZURE_ARM_ENDPOINT` replace the base URL
(`https://graph.microsoft.com`, `https://management.azure.com`; paths unchanged). The token scopes stay the
cloud's real ones: tokens always come from azure-identity. Plain http is refused for any host that is not
loopback, so an override cannot send a bearer token or estate data across a network unencrypted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from nhiaudit.connectors.gcp.endpoints import is_loopback
from nhiaudit.errors import UsageError

GRAPH_ENV = "NHIAUDIT_AZURE_GRAPH_ENDPOINT"
ARM_ENV = "NHIAUDIT_AZURE_ARM_ENDPOINT"

# cloud -> (Graph base, ARM base, authority host)
CLOUDS: dict[str, tuple[str, str, str]] = {
    "public": ("https://graph.microsoft.com", "https://management.azure.com", "login.microsoftonline.com"),
    "usgov": ("https://graph.microsoft.us", "https://management.usgovcloudapi.net", "login.microsoftonline.us"),
    "china": ("https://microsoftgraph.chinacloudapi.cn", "https://management.chinacloudapi.cn",
              "login.chinacloudapi.cn"),
}
# Microsoft's own authorities: instance discovery works there; anywhere else (an emulator) it must be off.
KNOWN_AUTHORITIES = frozenset({
    "login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
    "login.microsoftonline.us", "login.usgovcloudapi.net", "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
})


def _check(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.path.strip("/"):
        raise UsageError(f"{name} must be a base URL such as http://127.0.0.1:8080, got {value!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(f"{name}: plain http is only allowed to a loopback host, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class Endpoints:
    cloud: str
    graph: str  # base URL, no trailing slash
    arm: str
    graph_scope: str  # always the cloud's real resource: tokens are minted for it, wherever they are sent
    arm_scope: str
    authority: str  # the cloud's authority host (AZURE_AUTHORITY_HOST overrides it in azure-identity)
    disable_instance_discovery: bool

    @property
    def overridden(self) -> bool:
        real_graph, real_arm, _ = CLOUDS[self.cloud]
        return (self.graph, self.arm) != (real_graph, real_arm)


def authority_is_known(host: str) -> bool:
    """`https://login.microsoftonline.com/` or a bare host: whether it is one of Microsoft's authorities."""
    name = urlsplit(host if "//" in host else f"https://{host}").hostname or ""
    return name.lower() in KNOWN_AUTHORITIES


def endpoints_for(cloud: str = "public", env: Mapping[str, str] | None = None) -> Endpoints:
    """The cloud's endpoints with the documented overrides applied (UsageError for a malformed one)."""
    env = os.environ if env is None else env
    if cloud not in CLOUDS:
        raise UsageError(f"--azure-cloud must be one of {', '.join(CLOUDS)}, got {cloud!r}")
    graph, arm, authority = CLOUDS[cloud]
    graph_override = env.get(GRAPH_ENV, "").strip()
    arm_override = env.get(ARM_ENV, "").strip()
    authority_host = env.get("AZURE_AUTHORITY_HOST", "").strip()
    return Endpoints(
        cloud=cloud,
        graph=_check(GRAPH_ENV, graph_override) if graph_override else graph,
        arm=_check(ARM_ENV, arm_override) if arm_override else arm,
        graph_scope=f"{graph}/.default",
        arm_scope=f"{arm}/.default",
        authority=authority,
        disable_instance_discovery=bool(authority_host) and not authority_is_known(authority_host),
    )
