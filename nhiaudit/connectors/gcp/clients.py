"""GCP clients: every one read-only guarded, counted, retried on 429/503 with backoff, bounded in time
and in reply size.

- IAM (admin v1 `IAMClient`, v2 deny `PoliciesClient`): typed clients over one gRPC channel with an
  interceptor that refuses any method not in the read allowlist before it is sent, and counts every
  attempt (retries included); replies above `CallSettings.max_reply_bytes` are refused by gRPC itself.
- REST (Resource Manager's typed REST clients and the REST-only APIs): a requests adapter mounted on the
  session does the same for every HTTP attempt: only GET of a read, or POST of `:getIamPolicy` /
  `:testIamPermissions` (a POST in Resource Manager), ever leaves the process; the body is read streaming
  and given up past `max_reply_bytes` (ReplyTooLarge), so a hostile server cannot exhaust memory.

SDK imports are local to the functions that need them: `nhiaudit --help` must not load grpc.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from nhiaudit.connectors.counting import RequestCounter
from nhiaudit.connectors.deadline import Deadline, DeadlineExceeded
from nhiaudit.connectors.gcp.endpoints import Endpoints
from nhiaudit.errors import CollectionError
from nhiaudit.textsafe import one_line

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
MAX_PAGES = 10_000  # a server that keeps returning page tokens must not keep a collection forever
MAX_REPLY_BYTES = 64 * 1024 * 1024  # per reply (one page); no documented GCP page comes near it
_CHUNK = 64 * 1024

# Method names that only read: List/Get/Search/Query..., plus TestIamPermissions. GetIamPolicy is a Get.
# The first letter's case differs between gRPC (ListRoles) and REST (getIamPolicy); the next word must start
# with a capital, so `Getaway` or `listen` are not reads.
_READ_METHOD = re.compile(r"^([gG]et|[lL]ist|[sS]earch|[qQ]uery)([A-Z]\w*)?$|^aggregatedList$|^[tT]estIamPermissions$")
# REST custom verbs a POST may carry (Resource Manager's getIamPolicy is a POST).
_READ_POST_VERBS = frozenset({"getIamPolicy", "testIamPermissions"})


class ReadOnlyViolation(CollectionError):
    """nhiaudit tried a GCP method outside its read-only allowlist (a bug; the request was not sent)."""


class ReplyTooLarge(ValueError):
    """A reply body above the byte limit; it was not read further (one failed call, never retried)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"reply larger than the {limit}-byte limit; not read")
        self.limit = limit


class RawDataError(ValueError):
    """A reply that is not the JSON shape the API documents; `path` says where."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"malformed reply{f' at {path}' if path else ''}: {message}")
        self.path = path


def is_read_method(name: str) -> bool:
    """`ListServiceAccounts`, `getIamPolicy`, `searchAllIamPolicies`, `TestIamPermissions`: yes;
    `SetIamPolicy`, `CreateServiceAccountKey`, `SignJwt`: no."""
    return bool(_READ_METHOD.match(name))


def rest_method_allowed(method: str, url: str) -> bool:
    """An HTTP request is a read: a GET whose custom verb (if any) is a read, or a POST of a read verb."""
    path = urlsplit(url).path
    last = path.rsplit("/", 1)[-1]
    verb = last.rsplit(":", 1)[1] if ":" in last else None
    if method == "GET":
        return verb is None or is_read_method(verb)
    return method == "POST" and verb in _READ_POST_VERBS


def _rest_label(method: str, url: str) -> str:
    parts = urlsplit(url)
    return f"{method} {parts.hostname}:{parts.port or ''}{parts.path}" if parts.port else f"{method} {parts.path}"


def _read_bounded(response: Any, limit: int) -> None:
    """Read the body into the response (as requests does when not streaming), giving up past `limit`
    decoded bytes: a declared Content-Length above it is refused unread, a body without one is cut."""
    declared = response.headers.get("Content-Length", "")
    body = bytearray()
    try:
        if declared.isdigit() and int(declared) > limit:
            raise ReplyTooLarge(limit)
        for chunk in response.iter_content(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise ReplyTooLarge(limit)
    except BaseException:
        response.close()  # drops the connection: the rest of the body is never read
        raise
    response._content = bytes(body)  # what `response.content` returns; requests' own non-streaming path
    response._content_consumed = True
    response.raw.release_conn()  # read to the end: the connection goes back to the pool (keep-alive)


def _guard_adapter(counters: tuple[RequestCounter, ...], max_bytes: int) -> Any:
    from requests.adapters import HTTPAdapter

    class GuardAdapter(HTTPAdapter):
        """Refuses a non-read request before it is sent; counts the ones that are; bounds the reply."""

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if not rest_method_allowed(request.method or "", request.url or ""):
                raise ReadOnlyViolation(
                    f"refused {request.method} {urlsplit(request.url or '').path}: nhiaudit only calls read "
                    "methods (see docs/gcp-connector.md)"
                )
            for counter in counters:
                counter.add(f"{request.method} {urlsplit(request.url or '').path}")
            kwargs["stream"] = True  # the body is read here, bounded, instead of all at once by requests
            response = super().send(request, *args, **kwargs)
            _read_bounded(response, max_bytes)
            return response

    return GuardAdapter()


def guard_session(session: Any, counters: tuple[RequestCounter, ...], max_bytes: int = MAX_REPLY_BYTES) -> Any:
    """Mount the guard on every scheme of a requests session (an AuthorizedSession included)."""
    adapter = _guard_adapter(counters, max_bytes)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _grpc_interceptor(counters: tuple[RequestCounter, ...]) -> Any:
    import grpc

    class GuardInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
        def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
            method = str(details.method).rsplit("/", 1)[-1]
            if not is_read_method(method):
                raise ReadOnlyViolation(
                    f"refused {details.method}: nhiaudit only calls read methods (see docs/gcp-connector.md)"
                )
            for counter in counters:
                counter.add(str(details.method))
            return continuation(details, request)

    return GuardInterceptor()


@dataclass(frozen=True)
class CallSettings:
    """Per-call timeouts and the 429/503 backoff (tests shorten the backoff)."""

    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    backoff_initial: float = 0.5
    backoff_maximum: float = 30.0
    retry_timeout: float = 120.0  # the most one call spends retrying, capped by --timeout
    page_size: int = 1000
    max_reply_bytes: int = MAX_REPLY_BYTES  # per reply, gRPC and REST (tests make it small)

    def retry(self, deadline: Deadline) -> Any:
        from google.api_core import retry

        return retry.Retry(
            predicate=_retryable,
            initial=self.backoff_initial,
            maximum=self.backoff_maximum,
            multiplier=2.0,
            timeout=max(0.001, min(self.retry_timeout, deadline.remaining())),
        )

    def timeout(self, deadline: Deadline) -> float:
        return max(0.001, min(self.read_timeout, deadline.remaining()))


def _oversized(exc: BaseException) -> bool:
    """gRPC's refusal of a reply above max_receive_message_length (status RESOURCE_EXHAUSTED)."""
    from google.api_core import exceptions

    return isinstance(exc, exceptions.TooManyRequests) and "larger than max" in str(exc.message)


def _retryable(exc: BaseException) -> bool:
    """429 and 503; not gRPC's RESOURCE_EXHAUSTED for a reply over the size limit (it would only repeat)."""
    from google.api_core import exceptions

    if _oversized(exc):
        return False
    return isinstance(exc, exceptions.TooManyRequests | exceptions.ServiceUnavailable)


@dataclass
class GcpClients:
    """Credentials per service (anonymous for an overridden one), guarded clients, counters, deadline."""

    endpoints: Endpoints
    credentials: Any  # google.auth credentials for Google's endpoints (None when every service is overridden)
    deadline: Deadline
    settings: CallSettings = field(default_factory=CallSettings)
    counters: tuple[RequestCounter, ...] = ()
    _sessions: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def credentials_for(self, service: str) -> Any:
        if self.endpoints.overridden(service) or self.credentials is None:
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()
        return self.credentials

    def with_counter(self, counter: RequestCounter) -> GcpClients:
        return GcpClients(self.endpoints, self.credentials, self.deadline, self.settings, (*self.counters, counter))

    # --- IAM admin v1 and IAM v2 deny policies (gRPC) ---
    def iam_channel(self) -> Any:
        """One guarded, counted, size-bounded channel to the IAM gRPC endpoint (shared by both clients)."""
        import grpc

        target, plaintext = self.endpoints.grpc_target()
        options = [("grpc.max_receive_message_length", self.settings.max_reply_bytes)]
        if plaintext:
            channel = grpc.insecure_channel(target, options=options)
        elif self.endpoints.overridden("IAM"):
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(), options=options)
        else:
            from google.auth.transport import grpc as auth_grpc
            from google.auth.transport.requests import Request

            channel = auth_grpc.secure_authorized_channel(self.credentials, Request(), target, options=options)
        return grpc.intercept_channel(channel, _grpc_interceptor(self.counters))

    def iam(self, channel: Any = None) -> Any:
        from google.cloud.iam_admin_v1 import IAMClient
        from google.cloud.iam_admin_v1.services.iam.transports.grpc import IAMGrpcTransport

        return IAMClient(transport=IAMGrpcTransport(channel=channel or self.iam_channel()))

    def policies(self, channel: Any = None) -> Any:
        """The typed IAM v2 `PoliciesClient` (deny policies)."""
        from google.cloud.iam_v2 import PoliciesClient
        from google.cloud.iam_v2.services.policies.transports.grpc import PoliciesGrpcTransport

        return PoliciesClient(transport=PoliciesGrpcTransport(channel=channel or self.iam_channel()))

    def grpc_call(self, method: Any, **kwargs: Any) -> Any:
        """Call a typed client method with the retry policy and a per-call timeout."""
        self.deadline.check()
        return method(**kwargs, retry=self.settings.retry(self.deadline), timeout=self.settings.timeout(self.deadline))

    def grpc_items(self, method: Any, request: Mapping[str, Any], field_name: str) -> list[Any]:
        """Every item of a typed client's paged list (gRPC or REST transport), with the REST lists' bounds:
        at most MAX_PAGES pages, a repeated page token is malformed, the deadline is checked per page."""
        pager = self.grpc_call(method, request=dict(request))
        items: list[Any] = []
        seen: set[str] = set()
        for count, page in enumerate(pager.pages, 1):
            items.extend(getattr(page, field_name))
            token = page.next_page_token
            if not token:
                return items
            if token in seen:
                raise RawDataError("nextPageToken repeats", "nextPageToken")
            if count >= MAX_PAGES:
                raise RawDataError(f"more than {MAX_PAGES} pages", "nextPageToken")
            seen.add(token)
            self.deadline.check()
        return items

    # --- Resource Manager v3 (typed REST clients) ---
    def resource_manager(self, kind: str) -> Any:
        """`projects` or `folders`: the v3 typed client over REST, guarded and counted."""
        from google.cloud import resourcemanager_v3

        cls = {"projects": resourcemanager_v3.ProjectsClient, "folders": resourcemanager_v3.FoldersClient}[kind]
        base = self.endpoints.rest_base("CLOUDRESOURCEMANAGER")
        client = cls(
            credentials=self.credentials_for("CLOUDRESOURCEMANAGER"),
            transport="rest",
            client_options={"api_endpoint": base},
        )
        # The REST transport's session is where every HTTP attempt goes; the guard must sit on it.
        guard_session(client._transport._session, self.counters, self.settings.max_reply_bytes)
        return client

    # --- REST-only APIs ---
    def _session(self, service: str) -> Any:
        with self._lock:
            if service not in self._sessions:
                from google.auth.transport.requests import AuthorizedSession

                session = AuthorizedSession(self.credentials_for(service))
                self._sessions[service] = guard_session(session, self.counters, self.settings.max_reply_bytes)
            return self._sessions[service]

    def rest(self, service: str, method: str, path: str, params: Mapping[str, Any] | None = None,
             body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One REST call (path below the service's base URL), retried on 429/503; the JSON object."""
        from google.api_core import exceptions

        url = self.endpoints.rest_base(service) + path
        session = self._session(service)

        def attempt() -> Any:
            self.deadline.check()
            reply = session.request(
                method, url, params=dict(params or {}), json=body,
                timeout=(min(self.settings.connect_timeout, self.settings.timeout(self.deadline)),
                         self.settings.timeout(self.deadline)),
            )
            if reply.status_code >= 400:
                raise exceptions.from_http_status(reply.status_code, _error_text(reply), response=reply)
            return reply

        reply = self.settings.retry(self.deadline)(attempt)()
        try:
            data = reply.json()
        except ValueError:
            raise RawDataError("the body is not JSON") from None
        if not isinstance(data, dict):
            raise RawDataError("the body is not a JSON object")
        return data

    def rest_page_objects(self, service: str, path: str,
                          params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every page of a paged REST list (following nextPageToken), as the JSON objects."""
        query = dict(params or {})
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.rest(service, "GET", path, query)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return
            if not isinstance(token, str) or token in seen:
                raise RawDataError("nextPageToken repeats or is not a string", "nextPageToken")
            seen.add(token)
            query["pageToken"] = token
        raise RawDataError(f"more than {MAX_PAGES} pages", "nextPageToken")

    def rest_list(self, service: str, path: str, items_key: str,
                  params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """All items of a paged REST list (`items_key` absent on a page: none there)."""
        found: list[dict[str, Any]] = []
        for page in self.rest_page_objects(service, path, params):
            items = page.get(items_key, [])
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise RawDataError(f"{items_key} is not a list of objects", items_key)
            found.extend(items)
        return found


def _error_text(reply: Any) -> str:
    """`STATUS: message` from a Google error body ({"error": {"status", "message"}}), never the URL."""
    try:
        error = reply.json().get("error", {})
        status, message = error.get("status"), error.get("message")
    except (ValueError, AttributeError):
        status, message = None, None
    message = message if isinstance(message, str) else (reply.reason or "error")
    return f"{status}: {message}" if isinstance(status, str) and status else message


def describe_error(exc: BaseException) -> str:
    """One line, no request details (never a token), at most 300 characters."""
    from google.api_core import exceptions

    if isinstance(exc, exceptions.GoogleAPICallError):
        code = exc.code if isinstance(exc.code, int) else ""
        status = exc.grpc_status_code.name if exc.grpc_status_code is not None else ""
        head, sep, rest = exc.message.partition(": ")
        message = exc.message
        if sep and re.fullmatch(r"[A-Z_]+", head):  # a REST error's "STATUS: message" (_error_text)
            status, message = head, rest
        text = " ".join(str(p) for p in (code, status) if p) + f": {message}"
        if _oversized(exc):  # gRPC says RESOURCE_EXHAUSTED (a 429), but nothing was throttled
            text = f"reply larger than the size limit; not read ({message})"
    elif isinstance(exc, exceptions.RetryError):
        text = f"gave up retrying: {exc.cause if exc.cause else exc}"
    else:
        text = str(exc) or type(exc).__name__
    return one_line(text)


def call_failures() -> tuple[type[BaseException], ...]:
    """What one failed call can raise (never ReadOnlyViolation: that is a bug and stops the run)."""
    import grpc
    import requests
    from google.api_core import exceptions
    from google.auth import exceptions as auth_exceptions

    return (
        exceptions.GoogleAPICallError,
        exceptions.RetryError,
        auth_exceptions.GoogleAuthError,
        requests.RequestException,
        grpc.RpcError,
        DeadlineExceeded,
        ValueError,  # RawDataError, malformed JSON or protobuf
        KeyError,
        TypeError,
        AttributeError,
    )


def to_json(message: Any) -> dict[str, Any]:
    """A proto-plus or protobuf message as its REST JSON (camelCase, enums by name, defaults omitted)."""
    from google.protobuf import json_format
    from google.protobuf.message import Message

    raw = message if isinstance(message, Message) else type(message).pb(message)
    return json_format.MessageToDict(raw, preserving_proto_field_name=False)
