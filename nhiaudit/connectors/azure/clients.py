"""One httpx client per surface (Microsoft Graph, Azure Resource Manager): read-only guarded, counted, retried
on 429/503 after Retry-After, bounded in time (per call and --timeout) and in reply size, paged.

- The guard is an httpx request event hook: it runs after the request is built and before a byte is sent,
  and refuses anything but GET (nhiaudit uses no `$batch`), with one exception: ARM's
  `POST {site id}/config/appsettings/list` (App Service settings are read by a POST that only reads;
  readonly_post.py). ReadOnlyViolation is a bug and stops the run.
- Paging follows `@odata.nextLink` (Graph) or `nextLink` (ARM) only on the surface's own base URL: a hostile
  reply cannot send the bearer token elsewhere. A repeated link or more than MAX_PAGES pages is malformed.
- Bodies are read streaming and given up past `max_reply_bytes` (ReplyTooLarge, never retried).
- Tokens come from azure-identity for the surface's real scope, cached until five minutes before expiry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from nhiaudit.connectors.azure.readonly_post import is_read_only_post
from nhiaudit.connectors.counting import RequestCounter
from nhiaudit.connectors.deadline import Deadline, DeadlineExceeded
from nhiaudit.errors import CollectionError
from nhiaudit.textsafe import one_line

MAX_PAGES = 10_000  # a server that keeps returning next links must not keep a collection forever
MAX_REPLY_BYTES = 64 * 1024 * 1024  # per page; no documented Graph or ARM page comes near it
_TOKEN_MARGIN = 300.0  # seconds before expiry a cached token is renewed

__all__ = [
    "AzureCallError",
    "AzureHttp",
    "CallSettings",
    "RawDataError",
    "ReadOnlyViolation",
    "ReplyTooLarge",
    "RequestCounter",
    "TokenError",
    "call_failures",
    "describe_error",
]


class ReadOnlyViolation(CollectionError):
    """nhiaudit tried a request that is not a read (a bug; the request was not sent)."""


class TokenError(CollectionError):
    """azure-identity could not give a token: nothing can be collected."""


class ReplyTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"reply larger than the {limit}-byte limit; not read")


class RawDataError(ValueError):
    """A reply that is not the JSON shape the API documents; `path` says where."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"malformed reply{f' at {path}' if path else ''}: {message}")
        self.path = path


class AzureCallError(Exception):
    """An HTTP error reply: status and the API's error code and message (never the URL or a token)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.status, self.code, self.message = status, code, message

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}" if self.code else f"{self.status}: {self.message}"


@dataclass(frozen=True)
class CallSettings:
    """Per-call timeouts, the 429/503 retry bounds and the size limit (tests make them small)."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 5
    max_retry_after: float = 60.0  # a longer Retry-After is obeyed up to this (and never past --timeout)
    backoff_initial: float = 1.0  # without Retry-After: 1, 2, 4, ... seconds
    max_reply_bytes: int = MAX_REPLY_BYTES
    page_size: int = 999  # Graph's $top maximum for directory objects


def _error_of(body: bytes, reason: str) -> tuple[str, str]:
    """(code, message) of a Graph/ARM error body {"error": {"code", "message"}}."""
    import json

    try:
        error = json.loads(body).get("error", {})
        code, message = error.get("code", ""), error.get("message", "")
    except (ValueError, AttributeError):
        code, message = "", ""
    code = code if isinstance(code, str) else ""
    message = message if isinstance(message, str) and message else reason or "error"
    return code, message


def _retry_after(value: str | None, attempt: int, settings: CallSettings) -> float:
    """Retry-After seconds (an HTTP date is not worth parsing: fall back to exponential backoff)."""
    try:
        delay = float(value) if value is not None else -1.0
    except ValueError:
        delay = -1.0
    if not delay >= 0:
        delay = settings.backoff_initial * 2 ** attempt
    return min(delay, settings.max_retry_after)


@dataclass
class AzureHttp:
    """One surface: base URL, token scope, credential, shared deadline and counters."""

    name: str  # "graph" or "arm": names the calls in issues and counts
    base: str
    scope: str
    credential: Any  # an azure-identity TokenCredential
    deadline: Deadline
    settings: CallSettings = field(default_factory=CallSettings)
    counters: tuple[RequestCounter, ...] = ()
    tenant_id: str | None = None  # passed to get_token when the caller named the tenant
    _client: Any = field(default=None, init=False, repr=False)
    _token: tuple[str, float] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _guard(self, request: Any) -> None:
        """httpx request hook: runs before the request is sent."""
        if request.method != "GET" and not (self.name == "arm" and is_read_only_post(request.method,
                                                                                  request.url.path)):
            raise ReadOnlyViolation(f"refused {request.method} {request.url.path}: nhiaudit only sends GET to "
                                    "Graph and ARM (see docs/azure-connector.md)")
        for counter in self.counters:
            counter.add(f"{self.name} {request.method} {request.url.path}")

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(event_hooks={"request": [self._guard]}, follow_redirects=False,
                                            headers={"Accept": "application/json"})
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._token[1] - _TOKEN_MARGIN < time.time():
                from azure.core.exceptions import ClientAuthenticationError

                kwargs = {"tenant_id": self.tenant_id} if self.tenant_id else {}
                try:
                    got = self.credential.get_token(self.scope, **kwargs)
                except ClientAuthenticationError as exc:
                    raise TokenError(f"no Azure token for {self.scope} (DefaultAzureCredential: environment, "
                                     f"workload identity, managed identity or `az login`): "
                                     f"{describe_error(exc)}") from None
                self._token = (got.token, float(got.expires_on))
            return self._token[0]

    def _timeout(self) -> Any:
        import httpx

        left = max(0.001, self.deadline.remaining())
        return httpx.Timeout(min(self.settings.read_timeout, left), connect=min(self.settings.connect_timeout, left))

    def _send_once(self, url: str, params: Mapping[str, str] | None, headers: Mapping[str, str],
                   method: str = "GET") -> Any:
        """One attempt: (status, headers, body) with the body read up to the size limit."""
        client = self.client()
        request = client.build_request(method, url, params=params,
                                       headers={**headers, "Authorization": f"Bearer {self.token()}"},
                                       timeout=self._timeout())
        response = client.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            limit = self.settings.max_reply_bytes
            if declared.isdigit() and int(declared) > limit:
                raise ReplyTooLarge(limit)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise ReplyTooLarge(limit)
        finally:
            response.close()
        return response.status_code, response.headers, bytes(body), response.reason_phrase

    def get(self, url: str, params: Mapping[str, str] | None = None,
            headers: Mapping[str, str] | None = None, method: str = "GET") -> dict[str, Any]:
        """GET a URL (absolute, on this surface) as a JSON object, retrying 429/503 after Retry-After. `method`
        "POST" only for the read-only POSTs the guard allows (readonly_post.py); the body is empty."""
        import json

        for attempt in range(self.settings.max_retries + 1):
            self.deadline.check()
            status, reply_headers, body, reason = self._send_once(url, params, headers or {}, method)
            if status in (429, 503) and attempt < self.settings.max_retries:
                self.deadline.sleep(_retry_after(reply_headers.get("Retry-After"), attempt, self.settings))
                continue
            if status >= 400:
                raise AzureCallError(status, *_error_of(body, reason))
            try:
                data = json.loads(body)
            except ValueError:
                raise RawDataError("the body is not JSON") from None
            if not isinstance(data, dict):
                raise RawDataError("the body is not a JSON object")
            return data
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def list_all(self, path: str, params: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged list below the base URL (`value` of each page)."""
        url: str = self.base + path
        query: dict[str, str] | None = dict(params or {})
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.get(url, query, headers)
            values = page.get("value", [])
            if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
                raise RawDataError("value is not a list of objects", "value")
            items.extend(values)
            link = page.get("@odata.nextLink") or page.get("nextLink")
            if not link:
                return items
            if not isinstance(link, str) or link in seen:
                raise RawDataError("the next link repeats or is not a string", "nextLink")
            if not self._same_origin(link):
                raise RawDataError("the next link leaves the endpoint", "nextLink")
            seen.add(link)
            url, query = link, None  # the link carries the query (skip token, api-version)
        raise RawDataError(f"more than {MAX_PAGES} pages", "nextLink")

    def _same_origin(self, link: str) -> bool:
        mine, theirs = urlsplit(self.base), urlsplit(link)
        return (theirs.scheme, theirs.netloc.lower()) == (mine.scheme, mine.netloc.lower())


def describe_error(exc: BaseException) -> str:
    """One line, no request details (never a token), at most 300 characters."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        text = f"timed out ({type(exc).__name__})"
    elif isinstance(exc, httpx.HTTPError):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = str(exc) or type(exc).__name__
    return one_line(text)


def call_failures() -> tuple[type[BaseException], ...]:
    """What one failed call can raise (never ReadOnlyViolation or TokenError: those stop the run)."""
    import httpx
    from azure.core.exceptions import AzureError

    return (AzureCallError, httpx.HTTPError, AzureError, DeadlineExceeded, ValueError, KeyError, TypeError)
