"""In-test GCP servers on 127.0.0.1: the IAM admin v1 and IAM v2 Policies gRPC services built from
google-cloud-iam's own message types (no servicer is shipped: generic handlers with the messages'
serialize/deserialize), and HTTP servers for Resource Manager v3, the REST-only APIs and the two token
endpoints of an impersonation (OAuth token, IAM Credentials generateAccessToken), all backed by one FakeGcp
estate in REST JSON shapes.

The IAM port carries both gRPC and the REST-only IAM surfaces (workload identity pools), as the endpoint
contract says: a small proxy routes HTTP/2 (gRPC's preface) and HTTP/1.1 apart.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import grpc
from google.cloud.iam_admin_v1.types import iam as iam_types
from google.cloud.iam_v2.types import policy as policy_types
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import json_format

REST_SERVICES = ("CLOUDRESOURCEMANAGER", "CLOUDASSET", "POLICYANALYZER", "COMPUTE", "RUN", "CLOUDFUNCTIONS")
NEVER = "9999-12-31T23:59:59Z"
_HTTP_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
                503: "UNAVAILABLE"}
_GRPC_STATUS = {403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.NOT_FOUND,
                429: grpc.StatusCode.RESOURCE_EXHAUSTED, 503: grpc.StatusCode.UNAVAILABLE}


@dataclass
class FakeGcp:
    """One estate in REST JSON shapes, plus faults and a record of every request received."""

    projects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {number, parent}
    folders: dict[str, str] = field(default_factory=dict)  # folders/N -> parent
    # organizations/N -> Organization (v3 JSON); one not listed answers with a domain no member uses.
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_accounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # project -> SAs
    keys: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # SA e-mail -> keys
    sa_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # SA e-mail -> policy
    scope_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # projects/P, folders/N... -> policy
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)  # predefined role name -> Role
    custom_roles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # parent -> roles
    asset_results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # project -> results
    activities: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # (project, type)
    pools: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)  # project -> pool -> providers
    deny: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # scope -> full deny policies
    instances: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)  # project -> zone -> items
    run_locations: list[str] = field(default_factory=lambda: ["europe-west1", "us-central1"])
    run_services: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    functions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_limit: int = 1000  # the server's largest page, whatever the client asks
    deny_routes: set[str] = field(default_factory=set)  # route names always answered 403
    faults: dict[str, list[int]] = field(default_factory=dict)  # route -> statuses answered first, in order
    deny_parents: set[str] = field(default_factory=set)  # projects.list / folders.list of these parents: 403
    padding: dict[str, int] = field(default_factory=dict)  # route -> bytes added to its reply (oversized replies)
    hide_length: bool = False  # REST replies without Content-Length (read until the connection closes)
    received: list[str] = field(default_factory=list)  # "grpc ListServiceAccounts", "GET /v3/projects/p"
    authorization: list[tuple[str, str]] = field(default_factory=list)  # (entry, Authorization header) if any
    tokens: dict[str, str] = field(default_factory=dict)  # "jwt:SOURCE SA" / "sa:TARGET SA" -> access token
    bodies: dict[str, Any] = field(default_factory=dict)  # route -> the last request body it received
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, entry: str) -> None:
        with self.lock:
            self.received.append(entry)

    def fault(self, route: str) -> int | None:
        with self.lock:
            if route in self.deny_routes:
                return 403
            pending = self.faults.get(route)
            return pending.pop(0) if pending else None

    def page(self, items: list[Any], size: int | None, token: str | None) -> tuple[list[Any], str | None]:
        start = int(token or 0)
        size = min(size or self.page_limit, self.page_limit)
        end = start + size
        return items[start:end], (str(end) if end < len(items) else None)


# ---------------------------------------------------------------- gRPC: google.iam.admin.v1.IAM
def _abort(context: Any, status: int) -> None:
    context.abort(_GRPC_STATUS[status], f"{_HTTP_STATUS[status]}: injected fault")


def _guarded(fake: FakeGcp, route: str, fn: Any) -> Any:
    def handler(request: Any, context: Any) -> Any:
        fake.record(f"grpc {route}")
        status = fake.fault(route)
        if status:
            _abort(context, status)
        return fn(request, context)
    return handler


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _serializer(fake: FakeGcp, route: str, serialize: Any) -> Any:
    """The message's own serializer, plus an unknown length-delimited field 1000 of fake.padding[route]
    bytes when asked (parsers skip unknown fields: the reply stays valid, only larger)."""
    def encode(message: Any) -> bytes:
        size = fake.padding.get(route, 0)
        pad = _varint((1000 << 3) | 2) + _varint(size) + b"x" * size if size else b""
        return serialize(message) + pad
    return encode


def _handlers(fake: FakeGcp, table: dict[str, tuple[Any, Any, Any]]) -> dict[str, Any]:
    """{method: (fn, request type, response type)} -> gRPC handlers; types are proto-plus or protobuf."""
    def codec(cls: Any) -> tuple[Any, Any]:
        if hasattr(cls, "deserialize"):  # proto-plus
            return cls.deserialize, cls.serialize
        return cls.FromString, cls.SerializeToString

    handlers = {}
    for name, (fn, req, resp) in table.items():
        deserialize, serialize = codec(req)[0], codec(resp)[1]
        handlers[name] = grpc.unary_unary_rpc_method_handler(
            _guarded(fake, name, fn), request_deserializer=deserialize,
            response_serializer=_serializer(fake, name, serialize))
    return handlers


def _iam_handlers(fake: FakeGcp) -> dict[str, Any]:

    def list_sas(req: Any, ctx: Any) -> Any:
        project = req.name.split("/")[1]
        items, token = fake.page(fake.service_accounts.get(project, []), req.page_size, req.page_token)
        return iam_types.ListServiceAccountsResponse(
            accounts=[iam_types.ServiceAccount.from_json(json.dumps(a)) for a in items], next_page_token=token or "")

    def list_keys(req: Any, ctx: Any) -> Any:
        email = req.name.rsplit("/", 1)[-1]
        return iam_types.ListServiceAccountKeysResponse(
            keys=[iam_types.ServiceAccountKey.from_json(json.dumps(k)) for k in fake.keys.get(email, [])])

    def get_policy(req: Any, ctx: Any) -> Any:
        email = req.resource.rsplit("/", 1)[-1]
        return json_format.ParseDict(fake.sa_policies.get(email, {"etag": "ACAB"}), policy_pb2.Policy())

    def get_role(req: Any, ctx: Any) -> Any:
        role = fake.roles.get(req.name) or next(
            (r for rs in fake.custom_roles.values() for r in rs if r["name"] == req.name), None)
        if role is None:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"role {req.name} not found")
        return iam_types.Role.from_json(json.dumps(role))

    def list_roles(req: Any, ctx: Any) -> Any:
        items, token = fake.page(fake.custom_roles.get(req.parent, []), req.page_size, req.page_token)
        return iam_types.ListRolesResponse(roles=[iam_types.Role.from_json(json.dumps(r)) for r in items],
                                           next_page_token=token or "")

    def refuse(req: Any, ctx: Any) -> Any:  # a write reaching the server is what the tests look for
        ctx.abort(grpc.StatusCode.UNIMPLEMENTED, "writes are not served")

    return _handlers(fake, {
        "ListServiceAccounts": (list_sas, iam_types.ListServiceAccountsRequest, iam_types.ListServiceAccountsResponse),
        "ListServiceAccountKeys": (list_keys, iam_types.ListServiceAccountKeysRequest,
                                   iam_types.ListServiceAccountKeysResponse),
        "GetRole": (get_role, iam_types.GetRoleRequest, iam_types.Role),
        "ListRoles": (list_roles, iam_types.ListRolesRequest, iam_types.ListRolesResponse),
        "GetIamPolicy": (get_policy, iam_policy_pb2.GetIamPolicyRequest, policy_pb2.Policy),
        # Writes: a write reaching the server is what the tests look for.
        "CreateServiceAccountKey": (refuse, iam_types.CreateServiceAccountKeyRequest, iam_types.ServiceAccountKey),
        "DeleteServiceAccount": (refuse, iam_types.DeleteServiceAccountRequest, iam_types.ServiceAccount),
        "SetIamPolicy": (refuse, iam_policy_pb2.SetIamPolicyRequest, policy_pb2.Policy),
    })


# ---------------------------------------------------------------- gRPC: google.iam.v2.Policies (deny policies)
def _policies_handlers(fake: FakeGcp) -> dict[str, Any]:
    def list_policies(req: Any, ctx: Any) -> Any:
        # parent: policies/{url-encoded attachment point}/denypolicies; like the real API, the list carries
        # the policies' metadata only, never their rules.
        scope = unquote(req.parent.split("/")[1]).removeprefix("cloudresourcemanager.googleapis.com/")
        brief = [{k: v for k, v in p.items() if k != "rules"} for p in fake.deny.get(scope, [])]
        items, token = fake.page(brief, req.page_size, req.page_token)
        return policy_types.ListPoliciesResponse(
            policies=[policy_types.Policy.from_json(json.dumps(p)) for p in items], next_page_token=token or "")

    def get_policy(req: Any, ctx: Any) -> Any:
        found = [p for ps in fake.deny.values() for p in ps if p["name"] == req.name]
        if not found:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"policy {req.name} not found")
        return policy_types.Policy.from_json(json.dumps(found[0]))

    def refuse(req: Any, ctx: Any) -> Any:
        ctx.abort(grpc.StatusCode.UNIMPLEMENTED, "writes are not served")

    from google.longrunning import operations_pb2

    return _handlers(fake, {
        "ListPolicies": (list_policies, policy_types.ListPoliciesRequest, policy_types.ListPoliciesResponse),
        "GetPolicy": (get_policy, policy_types.GetPolicyRequest, policy_types.Policy),
        "CreatePolicy": (refuse, policy_types.CreatePolicyRequest, operations_pb2.Operation),
        "DeletePolicy": (refuse, policy_types.DeletePolicyRequest, operations_pb2.Operation),
    })


# ---------------------------------------------------------------- REST
def _routes(fake: FakeGcp) -> list[tuple[str, str, re.Pattern[str], Any]]:
    """(method, route name, path pattern, handler(match, query, body) -> (status, json))."""

    def paged(items: list[Any], key: str, query: dict[str, str], size_key: str = "pageSize") -> dict[str, Any]:
        size = int(query[size_key]) if size_key in query else None
        page, token = fake.page(items, size, query.get("pageToken"))
        out: dict[str, Any] = {key: page} if page else {}
        return out | ({"nextPageToken": token} if token else {})

    def project(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        pid = m[1]
        info = fake.projects.get(pid)
        if info is None:
            return 404, {}
        return 200, {"name": f"projects/{info['number']}", "projectId": pid, "state": "ACTIVE",
                     "displayName": pid} | ({"parent": info["parent"]} if info.get("parent") else {})

    def folder(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        name = f"folders/{m[1]}"
        if name not in fake.folders:
            return 404, {}
        return 200, {"name": name, "parent": fake.folders[name], "displayName": name, "state": "ACTIVE"}

    def organization(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        name = f"organizations/{m[1]}"
        return 200, fake.organizations.get(name) or {
            "name": name, "displayName": f"org{m[1]}.example", "directoryCustomerId": "C00000000",
            "state": "ACTIVE", "createTime": "2020-01-01T00:00:00Z", "etag": "BwA="}

    def list_projects(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        if q.get("parent") in fake.deny_parents:
            return 403, {}
        items = [{"name": f"projects/{i['number']}", "projectId": pid, "parent": i.get("parent"),
                  "state": "ACTIVE"} for pid, i in sorted(fake.projects.items()) if i.get("parent") == q.get("parent")]
        return 200, paged(items, "projects", q)

    def list_folders(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        if q.get("parent") in fake.deny_parents:
            return 403, {}
        items = [{"name": f, "parent": p, "state": "ACTIVE"} for f, p in sorted(fake.folders.items())
                 if p == q.get("parent")]
        return 200, paged(items, "folders", q)

    def scope_policy(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        return 200, fake.scope_policies.get(m[1], {"version": 1, "etag": "BwAAAA=="})

    def asset(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        return 200, paged(fake.asset_results.get(m[1], []), "results", q)

    def activities(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        return 200, paged(fake.activities.get((m[1], m[2]), []), "activities", q)

    def pools(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        items = [{"name": n, "state": "ACTIVE"} for n in sorted(fake.pools.get(m[1], {}))]
        return 200, paged(items, "workloadIdentityPools", q)

    def providers(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        pool = f"projects/{m[1]}/locations/global/workloadIdentityPools/{m[2]}"
        # The API names pools by project number (what the pools list returns) or id.
        found = next((items[pool] for items in fake.pools.values() if pool in items), [])
        return 200, paged(found, "workloadIdentityPoolProviders", q)

    def oauth_token(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        """Google's OAuth token endpoint for a service-account key file (the JWT bearer grant): the signed
        assertion's issuer gets its access token."""
        form = b if isinstance(b, dict) else {}
        fake.bodies["oauth2.token"] = form
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {}
        payload = form.get("assertion", "..").split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        token = fake.tokens.get(f"jwt:{claims.get('iss')}")
        if token is None:
            return 400, {}
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def generate_access_token(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        """IAM Credentials generateAccessToken: the impersonated SA's token (403 for an SA the fake denies)."""
        fake.bodies["generateAccessToken"] = b
        token = fake.tokens.get(f"sa:{unquote(m[1])}")
        if token is None:
            return 403, {}
        return 200, {"accessToken": token, "expireTime": "2099-01-01T00:00:00Z"}

    def instances(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        zones = fake.instances.get(m[1], {})
        items: dict[str, Any] = {f"zones/{z}": {"instances": i} for z, i in sorted(zones.items())}
        items["zones/asia-east1-a"] = {"warning": {"code": "NO_RESULTS_ON_PAGE", "message": "none"}}
        return 200, {"kind": "compute#instanceAggregatedList", "items": items}

    def run_locations(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        items = [{"name": f"projects/{m[1]}/locations/{loc}", "locationId": loc} for loc in fake.run_locations]
        return 200, paged(items, "locations", q)

    def run_services(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        return 200, paged(fake.run_services.get((m[1], m[2]), []), "services", q)

    def functions(m: re.Match[str], q: dict[str, str], b: Any) -> Any:
        return 200, paged(fake.functions.get(m[1], []), "functions", q)

    seg = r"([^/:]+)"
    return [
        ("GET", "projects.get", re.compile(rf"^/v3/projects/{seg}$"), project),
        ("GET", "folders.get", re.compile(r"^/v3/folders/(\d+)$"), folder),
        ("GET", "organizations.get", re.compile(r"^/v3/organizations/(\d+)$"), organization),
        ("GET", "projects.list", re.compile(r"^/v3/projects$"), list_projects),
        ("GET", "folders.list", re.compile(r"^/v3/folders$"), list_folders),
        ("POST", "getIamPolicy", re.compile(r"^/v3/((?:projects|folders|organizations)/[^/:]+):getIamPolicy$"),
         scope_policy),
        ("GET", "searchAllIamPolicies", re.compile(rf"^/v1/projects/{seg}:searchAllIamPolicies$"), asset),
        ("GET", "activities.query",
         re.compile(rf"^/v1/projects/{seg}/locations/global/activityTypes/{seg}/activities:query$"), activities),
        ("GET", "workloadIdentityPools.list",
         re.compile(rf"^/v1/projects/{seg}/locations/global/workloadIdentityPools$"), pools),
        ("GET", "providers.list",
         re.compile(rf"^/v1/projects/{seg}/locations/global/workloadIdentityPools/{seg}/providers$"), providers),
        ("POST", "oauth2.token", re.compile(r"^/token$"), oauth_token),
        ("POST", "generateAccessToken",
         re.compile(r"^/v1/projects/-/serviceAccounts/([^/:]+):generateAccessToken$"), generate_access_token),
        ("GET", "instances.aggregatedList", re.compile(rf"^/compute/v1/projects/{seg}/aggregated/instances$"),
         instances),
        ("GET", "run.locations.list", re.compile(rf"^/v1/projects/{seg}/locations$"), run_locations),
        ("GET", "run.services.list", re.compile(rf"^/v2/projects/{seg}/locations/{seg}/services$"), run_services),
        ("GET", "functions.list", re.compile(rf"^/v2/projects/{seg}/locations/-/functions$"), functions),
    ]


def _http_server(fake: FakeGcp) -> ThreadingHTTPServer:
    routes = _routes(fake)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any, pad: int = 0) -> None:
            data = json.dumps(body | ({"padding": "x" * pad} if pad else {})).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if fake.hide_length:  # the client can only read until the connection closes
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):  # a client that gives up on a large body closes early
                self.wfile.write(data)

        def _handle(self, method: str) -> None:
            raw_path = self.path.split("?", 1)[0]  # %2F stays encoded (encoded names in paths)
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                body: Any = {k: v[0] for k, v in parse_qs(data.decode()).items()}  # OAuth token requests
            else:
                body = json.loads(data or b"null")
            fake.record(f"{method} {raw_path}")
            if self.headers.get("Authorization"):
                with fake.lock:
                    fake.authorization.append((f"{method} {raw_path}", self.headers["Authorization"]))
            for verb, name, pattern, fn in routes:
                match = pattern.match(raw_path)
                if match and verb == method:
                    status = fake.fault(name)
                    if status:
                        return self._answer(status, {"error": {"code": status, "status": _HTTP_STATUS[status],
                                                               "message": f"injected {status} on {name}"}})
                    code, reply = fn(match, query, body)
                    if code != 200:
                        return self._answer(code, {"error": {"code": code, "status": _HTTP_STATUS[code],
                                                             "message": "not found"}})
                    return self._answer(200, reply, fake.padding.get(name, 0))
            return self._answer(404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "no such route"}})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


# ---------------------------------------------------------------- one port for gRPC and HTTP/1.1
class _Mux:
    """Routes each connection by its first bytes: gRPC's HTTP/2 preface to the gRPC server, else HTTP."""

    def __init__(self, grpc_port: int, http_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.grpc_port, self.http_port = grpc_port, http_port
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._route, args=(conn,), daemon=True).start()

    def _route(self, conn: socket.socket) -> None:
        try:
            head = conn.recv(3, socket.MSG_PEEK)
            backend = socket.create_connection(("127.0.0.1", self.grpc_port if head == b"PRI" else self.http_port))
        except OSError:
            conn.close()
            return
        threading.Thread(target=_pipe, args=(backend, conn), daemon=True).start()
        _pipe(conn, backend)

    def close(self) -> None:
        self.stopped = True
        self.listener.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class GcpServers:
    """Start with `with GcpServers(fake) as servers:`; `servers.env` holds the endpoint overrides."""

    def __init__(self, fake: FakeGcp) -> None:
        self.fake = fake

    def __enter__(self) -> GcpServers:
        self.grpc = grpc.server(ThreadPoolExecutor(16))
        self.grpc.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("google.iam.admin.v1.IAM", _iam_handlers(self.fake)),
             grpc.method_handlers_generic_handler("google.iam.v2.Policies", _policies_handlers(self.fake))))
        grpc_port = self.grpc.add_insecure_port("127.0.0.1:0")
        self.grpc.start()
        self.http = _http_server(self.fake)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        http_port = self.http.server_address[1]
        self.mux = _Mux(grpc_port, http_port)
        self.http_base = f"http://127.0.0.1:{http_port}"
        self.env = {"NHIAUDIT_GCP_ENDPOINT_IAM": f"127.0.0.1:{self.mux.port}"} | {
            f"NHIAUDIT_GCP_ENDPOINT_{s}": f"http://127.0.0.1:{http_port}" for s in REST_SERVICES}
        return self

    def __exit__(self, *exc: Any) -> None:
        self.mux.close()
        self.http.shutdown()
        self.http.server_close()
        self.grpc.stop(0)


# ---------------------------------------------------------------- credentials
def service_account_key_file(path: Any, email: str, token_uri: str) -> Any:
    """A service-account key file (a throwaway RSA key made here) whose token_uri is the in-test server:
    google-auth signs its JWT grant with it and posts it there, as it would to oauth2.googleapis.com."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": email.split("@")[1].split(".")[0], "private_key_id": "k0",
        "private_key": pem, "client_email": email, "client_id": "1", "token_uri": token_uri}))
    return path


# ---------------------------------------------------------------- estates
def binding(role: str, *members: str, condition: dict[str, str] | None = None) -> dict[str, Any]:
    return {"role": role, "members": list(members)} | ({"condition": condition} if condition else {})


def service_account(project: str, name: str, uid: int, **extra: Any) -> dict[str, Any]:
    email = f"{name}@{project}.iam.gserviceaccount.com"
    return {"name": f"projects/{project}/serviceAccounts/{email}", "projectId": project, "uniqueId": str(uid),
            "email": email, "displayName": name, "etag": "MDEwMjE5MjA=", "oauth2ClientId": str(uid)} | extra


def key(email: str, key_id: str, created: str, expires: str = NEVER, managed: str = "USER_MANAGED") -> dict[str, Any]:
    project = email.split("@")[1].split(".")[0]
    return {"name": f"projects/{project}/serviceAccounts/{email}/keys/{key_id}", "validAfterTime": created,
            "validBeforeTime": expires, "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED",
            "keyType": managed}


PREDEFINED = {
    "roles/owner": ["*"],
    "roles/editor": ["storage.buckets.get", "storage.objects.get", "storage.objects.list",
                     "aiplatform.endpoints.predict", "compute.instances.list"],
    "roles/viewer": ["storage.buckets.get", "compute.instances.list"],
    "roles/aiplatform.user": ["aiplatform.endpoints.predict", "aiplatform.endpoints.generateContent"],
    "roles/storage.objectViewer": ["storage.objects.get", "storage.objects.list"],
    "roles/iam.serviceAccountTokenCreator": ["iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.signBlob",
                                             "iam.serviceAccounts.signJwt", "iam.serviceAccounts.getOpenIdToken"],
    "roles/iam.workloadIdentityUser": ["iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken"],
    "roles/resourcemanager.projectIamAdmin": ["resourcemanager.projects.getIamPolicy",
                                              "resourcemanager.projects.setIamPolicy"],
}


def predefined_roles() -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "title": name.split("/", 1)[1], "includedPermissions": perms, "stage": "GA",
                   "etag": "AA=="} for name, perms in PREDEFINED.items()}


def small_estate(project: str = "acme-ml-prod") -> FakeGcp:
    """One project under a folder under an organization, with one of everything."""
    fake = FakeGcp(roles=predefined_roles())
    fake.folders = {"folders/200": "organizations/100"}
    fake.projects = {project: {"number": "123456789012", "parent": "folders/200"}}
    agent = service_account(project, "agent", 1001, description="the support agent")
    batch = service_account(project, "batch", 1002)
    old = service_account(project, "old", 1003, disabled=True)
    fake.service_accounts = {project: [agent, batch, old]}
    fake.keys = {
        agent["email"]: [key(agent["email"], "k1", "2023-01-01T00:00:00Z"),
                         key(agent["email"], "k2", "2024-05-01T00:00:00Z", "2024-08-01T00:00:00Z",
                             managed="SYSTEM_MANAGED")],
        batch["email"]: [key(batch["email"], "k3", "2024-02-01T00:00:00Z")],
    }
    fake.sa_policies = {agent["email"]: {"version": 1, "etag": "BwX=", "bindings": [
        binding("roles/iam.serviceAccountTokenCreator", f"serviceAccount:{batch['email']}")]}}
    fake.scope_policies = {
        f"projects/{project}": {"version": 3, "etag": "BwY=", "bindings": [
            binding("roles/aiplatform.user", f"serviceAccount:{agent['email']}"),
            binding(f"projects/{project}/roles/reader", f"serviceAccount:{batch['email']}"),
            binding("roles/storage.objectViewer", f"serviceAccount:{batch['email']}",
                    condition={"title": "until 2030",
                               "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")'}),
        ]},
        "folders/200": {"version": 1, "etag": "BwZ=", "bindings": [binding("roles/viewer", "group:ops@acme.example")]},
        "organizations/100": {"version": 1, "etag": "BwA=", "bindings": [
            binding("roles/owner", "user:admin@acme.example")]},
    }
    fake.custom_roles = {f"projects/{project}": [{"name": f"projects/{project}/roles/reader", "title": "reader",
                                                  "includedPermissions": ["storage.objects.get"], "stage": "GA",
                                                  "etag": "AA=="}]}
    fake.asset_results = {project: [
        {"resource": "//storage.googleapis.com/acme-pii", "project": "projects/123456789012",
         "assetType": "storage.googleapis.com/Bucket",
         "policy": {"bindings": [binding("roles/storage.objectViewer", f"serviceAccount:{batch['email']}")]}},
        {"resource": f"//cloudresourcemanager.googleapis.com/projects/{project}", "project": "projects/123456789012",
         "policy": {"bindings": [binding("roles/aiplatform.user", f"serviceAccount:{agent['email']}")]}},
    ]}
    fake.activities = {
        (project, "serviceAccountLastAuthentication"): [{
            "fullResourceName": f"//iam.googleapis.com/projects/{project}/serviceAccounts/1001",
            "activityType": "serviceAccountLastAuthentication",
            "observationPeriod": {"startTime": "2024-05-01T07:00:00Z", "endTime": "2024-05-02T07:00:00Z"},
            "activity": {"serviceAccount": {"serviceAccountId": "1001", "projectNumber": "123456789012",
                                            "fullResourceName": f"//iam.googleapis.com/projects/{project}/"
                                                                f"serviceAccounts/{agent['email']}"},
                         "lastAuthenticatedTime": "2024-05-01T07:00:00Z"}}],
    }
    pool = f"projects/{project}/locations/global/workloadIdentityPools/github"
    fake.pools = {project: {pool: [{
        "name": f"{pool}/providers/actions", "state": "ACTIVE",
        "attributeMapping": {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
        "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"}}]}}
    fake.deny = {f"projects/{project}": [{
        "name": f"policies/cloudresourcemanager.googleapis.com%2Fprojects%2F{project}/denypolicies/no-keys",
        "kind": "DenyPolicy", "displayName": "no keys", "etag": "MTI=",
        "rules": [{"denyRule": {"deniedPrincipals": ["principalSet://goog/public:all"],
                                "deniedPermissions": ["iam.googleapis.com/serviceAccountKeys.create"]}}]}]}
    fake.instances = {project: {"europe-west1-b": [{
        "name": "worker-1", "zone": f"https://www.googleapis.com/compute/v1/projects/{project}/zones/europe-west1-b",
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{project}/zones/europe-west1-b/instances/worker-1",
        "status": "RUNNING", "serviceAccounts": [{"email": batch["email"],
                                                  "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}]}]}}
    fake.run_services = {(project, "europe-west1"): [{
        "name": f"projects/{project}/locations/europe-west1/services/chat",
        "template": {"serviceAccount": agent["email"], "containers": [{"image": "gcr.io/x/chat"}]}}]}
    fake.functions = {project: [{"name": f"projects/{project}/locations/us-central1/functions/nightly",
                                 "serviceConfig": {"serviceAccountEmail": batch["email"]}, "state": "ACTIVE"}]}
    return fake


def big_estate(service_accounts: int, bindings: int, project: str = "acme-big-prod") -> FakeGcp:
    """Many SAs and bindings; bindings cycle over a fixed set of roles (the request count must not grow
    with bindings)."""
    fake = FakeGcp(roles=predefined_roles())
    fake.projects = {project: {"number": "999", "parent": "organizations/100"}}
    sas = [service_account(project, f"sa-{i:05d}", 10_000 + i) for i in range(service_accounts)]
    fake.service_accounts = {project: sas}
    fake.keys = {sa["email"]: [key(sa["email"], f"k{i}", "2024-01-01T00:00:00Z")] for i, sa in enumerate(sas[::10])}
    roles = sorted(PREDEFINED)
    fake.scope_policies = {f"projects/{project}": {"version": 3, "bindings": [
        binding(roles[i % len(roles)], f"serviceAccount:{sas[i % len(sas)]['email']}",
                condition={"title": f"c{i}", "expression": f'resource.name.startsWith("projects/_/buckets/b{i}")'})
        for i in range(bindings)]}}
    return fake
