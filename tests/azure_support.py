"""In-test Azure servers on 127.0.0.1: an HTTPS Entra token endpoint (self-signed certificate made here with
`cryptography`, trusted through REQUESTS_CA_BUNDLE / SSL_CERT_FILE as azure-identity needs) that a real
EnvironmentCredential reaches through AZURE_AUTHORITY_HOST, and plain-http Microsoft Graph and ARM fakes
that check the bearer token of their own scope, page their lists, honour `$select` / `$expand` the way the
services do, inject faults (an HTTP status, or N 429s with Retry-After) and record every request.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

GRAPH_TOKEN = "graph-token-for-tests"
ARM_TOKEN = "arm-token-for-tests"
CLIENT_SECRET = "client-secret-for-tests"
EXPAND_CAP = 20


@dataclass
class FakeAzure:
    tenant_id: str
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # app or SP id -> owners
    app_role_assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # SP id -> assignments
    federated: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # app id -> FICs
    grants: list[dict[str, Any]] = field(default_factory=list)
    directory_roles: list[dict[str, Any]] = field(default_factory=list)  # roleDefinition already expanded
    sp_sign_ins: list[dict[str, Any]] = field(default_factory=list)
    cred_sign_ins: list[dict[str, Any]] = field(default_factory=list)
    # subscription id -> {"displayName", "roleAssignments", "roleDefinitions", "identities", "resources",
    #                     "federated": {identity resource id: [its federated identity credentials]},
    #                     "diagnostics": {resource id: [its diagnostic settings]},
    #                     "appSettings": {site id: {setting name: value}}}
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_size: int = 100
    faults: dict[str, int] = field(default_factory=dict)  # route -> HTTP status
    throttle: dict[str, int] = field(default_factory=dict)  # route -> 429s still to answer
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (surface, method, path?query)
    bad_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)


def _select(obj: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return dict(obj)
    keep = set(select.split(","))
    return {k: v for k, v in obj.items() if k in keep}


def _expand(fake: FakeAzure, kind: str, obj: dict[str, Any], expand: str | None) -> dict[str, Any]:
    if not expand:
        return obj
    relation = expand.split("(", 1)[0]
    source = {"owners": fake.owners, "appRoleAssignments": fake.app_role_assignments,
              "federatedIdentityCredentials": fake.federated}.get(relation, {})
    obj[relation] = list(source.get(obj["id"], []))[:EXPAND_CAP]  # Graph cuts expanded lists at 20
    return obj


def _graph_route(fake: FakeAzure, path: str, q: dict[str, str]) -> tuple[str, list[dict[str, Any]]] | None:
    parts = path.strip("/").split("/")
    if path == "/v1.0/organization":
        return "organization", [{"id": fake.tenant_id, "displayName": "Contoso"}]
    if path == "/v1.0/servicePrincipals":
        return "servicePrincipals", [_expand(fake, "sp", _select(s, q.get("$select")), q.get("$expand"))
                                     for s in fake.service_principals]
    if path == "/v1.0/applications":
        return "applications", [_expand(fake, "app", _select(a, q.get("$select")), q.get("$expand"))
                                for a in fake.applications]
    if len(parts) == 4 and parts[1] in ("servicePrincipals", "applications"):
        table = {"owners": fake.owners, "appRoleAssignments": fake.app_role_assignments,
                 "federatedIdentityCredentials": fake.federated}.get(parts[3])
        if table is not None:
            return f"{parts[1]}/{parts[3]}", list(table.get(parts[2], []))
    if path == "/v1.0/oauth2PermissionGrants":
        return "oauth2PermissionGrants", fake.grants
    if path == "/v1.0/roleManagement/directory/roleAssignments":
        return "directoryRoleAssignments", fake.directory_roles
    if path == "/beta/reports/servicePrincipalSignInActivities":
        return "spSignIns", fake.sp_sign_ins
    if path == "/beta/reports/appCredentialSignInActivities":
        return "credSignIns", fake.cred_sign_ins
    return None


def _arm_route(fake: FakeAzure, path: str, q: dict[str, str]) -> tuple[str, list[dict[str, Any]]] | None:
    if path == "/subscriptions":
        return "subscriptions", [{"subscriptionId": s, "displayName": v.get("displayName"), "state": "Enabled",
                                  "id": f"/subscriptions/{s}"} for s, v in sorted(fake.subscriptions.items())]
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "subscriptions" or parts[1] not in fake.subscriptions:
        return None
    sub, tail = fake.subscriptions[parts[1]], "/".join(parts[2:])
    table = {"providers/Microsoft.Authorization/roleAssignments": "roleAssignments",
             "providers/Microsoft.Authorization/roleDefinitions": "roleDefinitions",
             "providers/Microsoft.ManagedIdentity/userAssignedIdentities": "identities",
             "resources": "resources"}
    if tail in table:
        return table[tail], list(sub.get(table[tail], []))
    diagnostics = "/providers/microsoft.insights/diagnosticsettings"
    if path.lower().endswith(diagnostics):  # {resource id}/providers/Microsoft.Insights/diagnosticSettings
        settings = {k.lower(): v for k, v in sub.get("diagnostics", {}).items()}
        return "diagnosticSettings", list(settings.get(path[:-len(diagnostics)].lower(), []))
    suffix = "/federatedIdentityCredentials"
    if path.lower().endswith(suffix.lower()):  # {identity id}/federatedIdentityCredentials (ARM ids: any case)
        federated = {k.lower(): v for k, v in sub.get("federated", {}).items()}
        return "identityFederatedCredentials", list(federated.get(path[:-len(suffix)].lower(), []))
    return None


def _server(fake: FakeAzure, surface: str) -> ThreadingHTTPServer:
    token = GRAPH_TOKEN if surface == "graph" else ARM_TOKEN
    link_key = "@odata.nextLink" if surface == "graph" else "nextLink"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
            self._reply(status, {"error": {"code": code, "message": message}}, headers)

        def do_POST(self) -> None:  # only ARM's `{site id}/config/appsettings/list` (the guard refuses the rest)
            with fake._lock:
                fake.requests.append((surface, "POST", self.path))
            url = urlsplit(self.path)
            suffix = "/config/appsettings/list"
            parts = url.path.split("/")
            if surface != "arm" or not url.path.lower().endswith(suffix) or len(parts) < 3 or (
                    parts[2] not in fake.subscriptions):
                return self._error(405, "MethodNotAllowed", "read-only fake")
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self._error(401, "InvalidAuthenticationToken", "wrong or missing bearer token")
            if not parse_qs(url.query).get("api-version"):
                return self._error(400, "MissingApiVersionParameter", "api-version is required")
            if fake.faults.get("appSettings"):
                return self._error(fake.faults["appSettings"], "AuthorizationFailed", "no config/list/action")
            site = url.path[:-len(suffix)]
            settings = {k.lower(): v for k, v in fake.subscriptions[parts[2]].get("appSettings", {}).items()}
            self._reply(200, {"id": f"{site}/config/appsettings", "name": "appsettings",
                              "type": "Microsoft.Web/sites/config", "location": "West Europe",
                              "properties": settings.get(site.lower(), {})})

        def do_PATCH(self) -> None:  # never expected: the guard refuses before sending
            with fake._lock:
                fake.requests.append((surface, self.command, self.path))
            self._error(405, "MethodNotAllowed", "read-only fake")

        do_PUT = do_DELETE = do_PATCH

        def do_GET(self) -> None:
            with fake._lock:
                fake.requests.append((surface, "GET", self.path))
            if self.headers.get("Authorization") != f"Bearer {token}":
                with fake._lock:
                    fake.bad_tokens += 1
                return self._error(401, "InvalidAuthenticationToken", "wrong or missing bearer token")
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if surface == "arm" and not q.get("api-version"):
                return self._error(400, "MissingApiVersionParameter", "api-version is required")
            route = (_graph_route if surface == "graph" else _arm_route)(fake, url.path, q)
            if route is None:
                return self._error(404, "Request_ResourceNotFound", f"no route {url.path}")
            name, items = route
            with fake._lock:
                if fake.throttle.get(name, 0) > 0:
                    fake.throttle[name] -= 1
                    return self._error(429, "TooManyRequests", "slow down", {"Retry-After": "0"})
                status = fake.faults.get(name)
            if status:
                return self._error(status, "Authorization_RequestDenied", "Insufficient privileges")
            skip = int(q.pop("$skiptoken", "0"))
            size = min(int(q.get("$top", fake.page_size)), fake.page_size)
            page: dict[str, Any] = {"value": items[skip:skip + size]}
            if skip + size < len(items):
                host, port = self.server.server_address[:2]
                page[link_key] = f"http://{host}:{port}{url.path}?{urlencode({**q, '$skiptoken': skip + size})}"
            self._reply(200, page)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _token_server(tenant: str, cert: Path, key: Path, issued: list[str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # OpenID discovery of the tenant's authority
            host, port = self.server.server_address[:2]
            base = f"https://{host}:{port}/{tenant}"
            if urlsplit(self.path).path != f"/{tenant}/v2.0/.well-known/openid-configuration":
                return self._reply(404, {"error": "not_found"})
            self._reply(200, {"token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0",
                              "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                              "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if form.get("client_secret") != CLIENT_SECRET:
                return self._reply(401, {"error": "invalid_client", "error_description": "bad secret"})
            scope = form.get("scope", "")
            token = GRAPH_TOKEN if "graph.microsoft.com" in scope else ARM_TOKEN if "management.azure.com" \
                in scope else "other"
            issued.append(scope)
            self._reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                              "ext_expires_in": 3600})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


class AzureServers:
    """The three servers, started; `env` is what a test puts in the environment (monkeypatch.setenv)."""

    def __init__(self, fake: FakeAzure, directory: Path, client_id: str = "11111111-2222-3333-4444-555555555555"):
        self.fake, self.issued = fake, []  # type: ignore[var-annotated]
        cert, key = self_signed(directory)
        self._servers = [_token_server(fake.tenant_id, cert, key, self.issued), _server(fake, "graph"),
                         _server(fake, "arm")]
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        token, graph, arm = (s.server_address[1] for s in self._servers)
        self.env = {
            "AZURE_TENANT_ID": fake.tenant_id, "AZURE_CLIENT_ID": client_id, "AZURE_CLIENT_SECRET": CLIENT_SECRET,
            "AZURE_AUTHORITY_HOST": f"https://127.0.0.1:{token}",
            "REQUESTS_CA_BUNDLE": str(cert), "SSL_CERT_FILE": str(cert),
            "NHIAUDIT_AZURE_GRAPH_ENDPOINT": f"http://127.0.0.1:{graph}",
            "NHIAUDIT_AZURE_ARM_ENDPOINT": f"http://127.0.0.1:{arm}",
        }

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
