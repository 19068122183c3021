"""Where each GCP API is reached: Google's endpoints, or the overrides of the documented contract.

`NHIAUDIT_GCP_ENDPOINT_<SERVICE>` overrides one API, SERVICE being the API host's first label in upper
case (docs/gcp-connector.md, "Endpoints"):

- `IAM=host:port`: the IAM gRPC services at host:port (IAM admin v1 and the v2 deny policies; plaintext
  only when the host is loopback, TLS otherwise), and the REST-only IAM surfaces (workload identity pools)
  at `http://host:port` (`https://` unless loopback);
- every REST API (`CLOUDRESOURCEMANAGER`, `CLOUDASSET`, `POLICYANALYZER`, `COMPUTE`, `RUN`,
  `CLOUDFUNCTIONS`): a base URL replacing `https://<service>.googleapis.com`, paths unchanged;
- `IAMCREDENTIALS`: the base URL of the IAM Credentials API that `--gcp-impersonate` mints its tokens at
  (`generateAccessToken`). Not a data service: overriding it changes where the token is minted, not which
  credentials the data calls use.

An overridden data service is called with anonymous credentials: an emulator must never receive the caller's
real tokens. Plain http / plaintext gRPC is refused for any host that is not loopback, so an override
cannot send estate data across a network unencrypted.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from nhiaudit.errors import UsageError

PREFIX = "NHIAUDIT_GCP_ENDPOINT_"
REST_SERVICES = ("CLOUDRESOURCEMANAGER", "CLOUDASSET", "POLICYANALYZER", "COMPUTE", "RUN", "CLOUDFUNCTIONS")
SERVICES = ("IAM", *REST_SERVICES)  # the data services
AUTH_SERVICES = ("IAMCREDENTIALS",)  # where credentials are minted (impersonation)
KNOWN = (*SERVICES, *AUTH_SERVICES)
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _google(service: str) -> str:
    return f"https://{service.lower()}.googleapis.com"


def _check_rest(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise UsageError(f"{name} must be a base URL such as http://127.0.0.1:8080, got {value!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(f"{name}: plain http is only allowed to a loopback host, got {value!r}")
    return value.rstrip("/")


def _check_grpc(name: str, value: str) -> str:
    if not _HOST_PORT.match(value) or not 0 < int(value.rsplit(":", 1)[1]) < 65536:
        raise UsageError(f"{name} must be host:port (gRPC), got {value!r}")
    return value


@dataclass(frozen=True)
class Endpoints:
    """The validated overrides (service -> value); services not named use Google's endpoints.
    `all_overridden` counts the data services only (IAMCREDENTIALS is where credentials come from)."""

    overrides: Mapping[str, str] = field(default_factory=dict)

    def overridden(self, service: str) -> bool:
        return service in self.overrides

    @property
    def any_overridden(self) -> bool:
        return bool(self.overrides)

    @property
    def all_overridden(self) -> bool:
        return all(s in self.overrides for s in SERVICES)

    def rest_base(self, service: str) -> str:
        """The base URL for a REST API: `https://<service>.googleapis.com` or the override."""
        value = self.overrides.get(service)
        if value is None:
            return _google(service)
        if service == "IAM":  # host:port serves both gRPC and the REST-only IAM surfaces
            host = value.rsplit(":", 1)[0]
            return f"{'http' if is_loopback(host) else 'https'}://{value}"
        return value

    def iam_credentials_url(self, principal: str) -> str | None:
        """google-auth's `iam_endpoint_override` for impersonating `principal`; None: Google's endpoint."""
        value = self.overrides.get("IAMCREDENTIALS")
        if value is None:
            return None
        return f"{value}/v1/projects/-/serviceAccounts/{principal}:generateAccessToken"

    def grpc_target(self) -> tuple[str, bool]:
        """The IAM gRPC target (admin v1, v2 policies) and whether it is plaintext (loopback overrides only)."""
        value = self.overrides.get("IAM")
        if value is None:
            return "iam.googleapis.com:443", False
        return value, is_loopback(value.rsplit(":", 1)[0])


def endpoints_from_env(env: Mapping[str, str] | None = None) -> Endpoints:
    """Read and check the overrides. An unknown SERVICE is a usage error (a typo must not silently send
    requests to Google with real credentials)."""
    env = os.environ if env is None else env
    overrides: dict[str, str] = {}
    for name in sorted(k for k in env if k.startswith(PREFIX)):
        service, value = name[len(PREFIX):], env[name].strip()
        if not value:
            continue
        if service not in KNOWN:
            raise UsageError(f"{name}: unknown service; known: {', '.join(KNOWN)}")
        overrides[service] = _check_grpc(name, value) if service == "IAM" else _check_rest(name, value)
    return Endpoints(overrides)
