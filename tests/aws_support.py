"""Real parts for the AWS connector tests: moto's server, a local HTTP front that can forward to it, inject
faults (AccessDenied, throttling) or replay recorded responses, and seeding/backdating helpers.

Import the fixtures into a test module with `from aws_support import aws_env, moto  # noqa: F401`.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "aws"
MOTO_ACCOUNT = "123456789012"
NOW = datetime.now(UTC)


# A written policy naming only the AI models: whoever can call them and is not declared is shadow AI.
AI_MODELS_ONLY_POLICY = """\
version: 1
systems:
  bedrock-models:
    kind: ai-model
    resources: ["arn:aws:bedrock:*::foundation-model/*"]
integrations: []
"""


def role_arn(name: str, account: str = MOTO_ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def scan_json(tmp_path: Path, *source: str, policy: str = AI_MODELS_ONLY_POLICY) -> tuple[int, dict[str, Any]]:
    """`nhiaudit scan SOURCE... --format json` through the real CLI: (exit status, report)."""
    from typer.testing import CliRunner

    from nhiaudit.cli import build_app

    (tmp_path / "policy.yaml").write_text(policy)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(build_app(), ["scan", *source, "--policy", str(tmp_path / "policy.yaml"),
                                              "--format", "json", "--fail-on", "none", "-o", str(out), "--quiet"])
    assert out.exists(), result.output
    return result.exit_code, json.loads(out.read_text())


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# ---- the HTTP front ---------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    service: str
    operation: str
    params: dict[str, str]


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/xml"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Rule:
    operation: str  # "iam:GenerateCredentialReport"
    respond: Callable[[Request], Response | None]  # None: not this request, fall through
    times: int | None = None  # None: every matching request


_LAMBDA_PATHS = [("GET", re.compile(r"^/2015-03-31/functions/?$"), "ListFunctions"),
                 ("POST", re.compile(r"^/2015-03-31/functions/?$"), "CreateFunction"),
                 # bedrock-agent (signed as "bedrock", the IAM prefix of its actions)
                 ("POST", re.compile(r"^/agents/?$"), "ListAgents"),
                 ("GET", re.compile(r"^/agents/[^/]+/?$"), "GetAgent"),
                 ("POST", re.compile(r"^/knowledgebases/?$"), "ListKnowledgeBases"),
                 ("GET", re.compile(r"^/knowledgebases/[^/]+/?$"), "GetKnowledgeBase"),
                 ("GET", re.compile(r"^/clusters/?$"), "ListClusters"),
                 ("GET", re.compile(r"^/clusters/[^/]+/pod-identity-associations/?$"), "ListPodIdentityAssociations"),
                 ("GET", re.compile(r"^/clusters/[^/]+/pod-identity-associations/[^/]+/?$"),
                  "DescribePodIdentityAssociation"),
                 ("GET", re.compile(r"^/2015-03-31/functions/[^/]+/policy/?$"), "GetPolicy"),
                 ("GET", re.compile(r"^/logging/modelinvocations/?$"), "GetModelInvocationLoggingConfiguration")]
# S3 (REST, signed as "s3", s3control too): named by the IAM action, as the read-only allowlist names them.
_S3_ACCOUNT_BLOCK = "/v20180820/configuration/publicAccessBlock"
_S3_SUBRESOURCES = {"policy": "GetBucketPolicy", "acl": "GetBucketAcl",
                    "publicAccessBlock": "GetBucketPublicAccessBlock"}


def _s3_operation(method: str, path: str, query: dict[str, str]) -> str | None:
    if method != "GET":
        return None
    if path == "/":
        return "ListAllMyBuckets"
    if path == _S3_ACCOUNT_BLOCK:
        return "GetAccountPublicAccessBlock"
    if path.strip("/").count("/") == 0:
        return next((name for sub, name in _S3_SUBRESOURCES.items() if sub in query), None)
    return None


def _operation(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[str, str, dict[str, str]]:
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("authorization", ""))
    service = match.group(1) if match else "unknown"
    query = {k: v[0] for k, v in parse_qs(urlparse(path).query, keep_blank_values=True).items()}
    if headers.get("x-amz-target"):
        return service, headers["x-amz-target"].rsplit(".", 1)[-1], {**query, **json.loads(body or b"{}")}
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if "Action" in form:
        return service, form["Action"], form
    s3 = _s3_operation(method, urlparse(path).path, query) if service == "s3" else None
    if s3 is not None:
        return service, s3, query
    for verb, pattern, name in _LAMBDA_PATHS:
        if method == verb and pattern.match(urlparse(path).path):
            return service, name, query
    return service, f"{method} {urlparse(path).path}", query


def _origin_form(target: str) -> str:
    """`http://host/path?query` (a request to a proxy) -> `/path?query`."""
    if not target.startswith(("http://", "https://")):
        return target
    url = urlparse(target)
    return (url.path or "/") + (f"?{url.query}" if url.query else "")


def error_response(req: Request, code: str, message: str, status: int = 403) -> Response:
    """An error in the wire format of the request's protocol."""
    if req.service == "s3":  # REST-XML
        return Response(status, f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode(),
                        "application/xml")
    if req.service in ("iam", "sts", "sns"):
        xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
               f"</Error><RequestId>front</RequestId></ErrorResponse>")
        return Response(status, xml.encode())
    if req.service == "ec2":
        xml = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
               f"<RequestID>front</RequestID></Response>")
        return Response(status, xml.encode())
    body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    return Response(status, body, "application/x-amz-json-1.1", {"x-amzn-ErrorType": code})


# Read operations moto does not implement, answered as an estate without such resources would be (tests that
# need them replay recorded responses instead).
MOTO_GAPS: dict[str, bytes] = {"cloudtrail:ListEventDataStores": b'{"EventDataStores": []}'}


class AwsFront:
    """A local endpoint for AWS_ENDPOINT_URL. Requests go through `rules`, then to `upstream` (moto)."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = urlparse(upstream) if upstream else None
        self.rules: list[Rule] = []
        self.seen: list[str] = []  # "service:Operation" of every request received, in order
        self._lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                path = _origin_form(self.path)  # as a proxy (aws_environment) the front gets absolute URLs
                service, op, params = _operation(self.command, path, headers, body)
                req = Request(self.command, path, headers, body, service, op, params)
                resp = front._dispatch(req)
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
                self.send_header("Content-Length", str(len(resp.body)))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                try:
                    self.end_headers()
                    self.wfile.write(resp.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a read timeout under test): nothing to answer

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> AwsFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def operations(self) -> list[str]:
        with self._lock:
            return list(self.seen)

    def _dispatch(self, req: Request) -> Response:
        with self._lock:
            self.seen.append(f"{req.service}:{req.operation}")
            rules = list(self.rules)
        for rule in rules:
            if rule.operation != f"{req.service}:{req.operation}":
                continue
            resp = rule.respond(req)
            if resp is None:
                continue
            with self._lock:
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
            return resp
        return self._forward(req)

    def _forward(self, req: Request) -> Response:
        gap = MOTO_GAPS.get(f"{req.service}:{req.operation}")
        if gap is not None and self.upstream is not None:
            return Response(200, gap, "application/x-amz-json-1.1")
        if self.upstream is None:
            return error_response(req, "NotRecorded", f"no recorded response for {req.service}:{req.operation}",
                                  400)
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            skip = {"host", "content-length", "connection", "transfer-encoding"}
            conn.request(req.method, req.path, body=req.body,
                         headers={k: v for k, v in req.headers.items() if k not in skip})
            up = conn.getresponse()
            body = up.read()
            extra = {k: v for k, v in up.getheaders()
                     if k.lower() not in ("content-length", "content-type", "connection", "transfer-encoding",
                                          "server", "date")}
            return Response(up.status, body, up.getheader("content-type") or "text/xml", extra)
        finally:
            conn.close()

    # -- rule helpers
    def deny(self, operation: str, when: Callable[[Request], bool] | None = None, times: int | None = None,
             code: str = "AccessDenied") -> None:
        def respond(req: Request) -> Response | None:
            if when is not None and not when(req):
                return None
            return error_response(req, code, f"User: auditor is not authorized to perform: {operation}")

        with self._lock:
            self.rules.append(Rule(operation, respond, times))

    def throttle(self, operation: str, times: int) -> None:
        with self._lock:
            self.rules.append(Rule(operation, lambda req: error_response(req, "Throttling", "Rate exceeded", 400),
                                   times))

    def replay(self, operation: str, respond: Callable[[Request], Response | None],
               times: int | None = None) -> None:
        with self._lock:
            self.rules.append(Rule(operation, respond, times))


def fixture_response(name: str, content_type: str = "text/xml") -> Response:
    return Response(200, (FIXTURES / name).read_bytes(), content_type)


# EKS Pod Identity, recorded in botocore's shapes (moto has none): cluster ml-cluster, service account ml/agent.
POD_LIST = "eks-list-pod-identity-associations-ml-cluster.json"
POD_DESCRIBE = "eks-describe-pod-identity-association-a-0agentassoc00001.json"


def replay_pod_identity(front: AwsFront) -> None:
    """Answer the two Pod Identity calls from the recorded responses (the listing is the same for any cluster)."""
    front.replay("eks:ListPodIdentityAssociations", lambda _: fixture_response(POD_LIST, "application/json"))
    front.replay("eks:DescribePodIdentityAssociation", lambda _: fixture_response(POD_DESCRIBE, "application/json"))


# ---- moto ---------------------------------------------------------------------------------------------

@dataclass
class Moto:
    url: str
    front: AwsFront

    def reset(self) -> None:
        import urllib.request

        # Straight to moto: urlopen's shared opener keeps the HTTP_PROXY of its first use, which may be
        # another module's front, long stopped.
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        direct.open(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")).read()
        self.front.reset()

    def session(self, account: str | None = None) -> Any:
        """A plain boto3 session straight to moto (not through the front, not guarded) for seeding.
        With `account`, it acts in that account (moto maps assumed-role keys to the role's account)."""
        import boto3

        base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                             region_name="us-east-1")
        if account is None:
            return base
        creds = base.client("sts", endpoint_url=self.url).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/seed", RoleSessionName="seed")["Credentials"]
        return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                             aws_session_token=creds["SessionToken"], region_name="us-east-1")

    def client(self, service: str, account: str | None = None, region: str = "us-east-1") -> Any:
        return self.session(account).client(service, endpoint_url=self.url, region_name=region)


def iam_backend(account: str = MOTO_ACCOUNT) -> Any:
    """moto's in-process IAM backend (ThreadedMotoServer shares the process), for backdating dates."""
    from moto.iam.models import iam_backends

    return iam_backends[account]["global"]


def backdate_key(user: str, created: datetime, last_used: datetime | None = None,
                 service: str = "bedrock", region: str = "us-east-1", account: str = MOTO_ACCOUNT) -> str:
    from moto.iam.models import AccessKeyLastUsed

    key = iam_backend(account).users[user].access_keys[0]
    key.create_date = created
    key.last_used = AccessKeyLastUsed(timestamp=last_used, service=service, region=region) if last_used else None
    return str(key.access_key_id)


def backdate_role(name: str, created: datetime, last_used: datetime | None, region: str = "us-east-1",
                  account: str = MOTO_ACCOUNT) -> None:
    role = iam_backend(account).get_role(name)
    role.create_date = created
    role.last_used = last_used
    role.last_used_region = region if last_used else None


def backdate_password_use(user: str, when: datetime, account: str = MOTO_ACCOUNT) -> None:
    iam_backend(account).users[user].password_last_used = when


# The AWS-managed policies moto's IAM holds in these tests: the one the estates attach and a few it must leave out
# as unattached. All 1,582 that moto knows cost every reset their parsing and every GAAD reply their pages.
MOTO_MANAGED_POLICIES = ("AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "SecurityAudit",
                         "AmazonS3ReadOnlyAccess", "AmazonBedrockFullAccess")


def _keep_managed_policies(names: tuple[str, ...]) -> None:
    import moto.iam.models as iam_models

    every = json.loads(iam_models.aws_managed_policies_data)
    if len(every) > len(names):
        iam_models.aws_managed_policies_data = json.dumps({n: every[n] for n in names})


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    """One moto server per test module, behind an AwsFront; reset it (moto.reset()) to start clean."""
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # before the server creates any IAM backend
    _keep_managed_policies(MOTO_MANAGED_POLICIES)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    front = AwsFront(url).start()
    try:
        yield Moto(url, front)
    finally:
        front.stop()
        server.stop()


AWS_ENV_CLEAR = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


def aws_environment(monkeypatch: pytest.MonkeyPatch, endpoint: str, tmp: Path) -> None:
    """boto3's default chain resolves to fake keys and every client goes to `endpoint`."""
    for name in AWS_ENV_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # S3 Control puts the account id in front of the endpoint's host (123456789012.127.0.0.1), which does not
    # resolve: every request goes to the endpoint as an HTTP proxy instead, which answers any host name.
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", endpoint)


@pytest.fixture
def aws_env(moto: Moto, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Moto:
    """Point boto3 at the front (which forwards to moto) for one test; the front's rules start empty."""
    moto.front.reset()
    aws_environment(monkeypatch, moto.front.url, tmp_path)
    return moto


# ---- CLI-style exports of a live estate --------------------------------------------------------------

def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def export_like_cli(moto: Moto, out: Path, key_users: list[str] | None = None,
                    account: str | None = None) -> list[Path]:
    """Write what `aws iam get-account-authorization-details`, `get-credential-report`, `list-roles` and
    `list-access-keys` print for the moto estate (the CLI merges pages and prints ISO dates)."""
    import base64

    iam = moto.client("iam", account)
    out.mkdir(parents=True, exist_ok=True)
    merged = iam.get_paginator("get_account_authorization_details").paginate(
        Filter=["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]).build_full_result()
    merged.pop("ResponseMetadata", None)
    files = [out / "gaad.json", out / "report.json"]
    files[0].write_text(json.dumps(merged, default=_iso, indent=2))
    while iam.generate_credential_report()["State"] != "COMPLETE":
        pass
    report = iam.get_credential_report()
    files[1].write_text(json.dumps({"Content": base64.b64encode(report["Content"]).decode(),
                                    "ReportFormat": report["ReportFormat"],
                                    "GeneratedTime": _iso(report["GeneratedTime"])}, indent=2))
    roles = iam.get_paginator("list_roles").paginate().build_full_result()
    roles.pop("ResponseMetadata", None)
    files.append(out / "roles.json")
    files[-1].write_text(json.dumps(roles, default=_iso, indent=2))
    for user in key_users or []:
        path = out / f"keys-{user}.json"
        keys = iam.list_access_keys(UserName=user)
        keys.pop("ResponseMetadata", None)
        path.write_text(json.dumps(keys, default=_iso, indent=2))
        files.append(path)
    return files
