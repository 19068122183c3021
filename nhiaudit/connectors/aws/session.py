"""boto3 sessions and clients: every client is read-only guarded, retries adaptively, stops at the
collection's deadline and can be counted."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from nhiaudit.connectors.aws.deadline import Deadline
from nhiaudit.connectors.aws.raw import RawDataError
from nhiaudit.connectors.aws.readonly import RequestLog, install_guard

DEFAULT_REGION = "us-east-1"
SESSION_NAME = "nhiaudit"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0  # per socket read, not per call: a large GAAD page streams well within it


@dataclass(frozen=True)
class CallTimeouts:
    connect: float = CONNECT_TIMEOUT
    read: float = READ_TIMEOUT

    def within(self, deadline: Deadline | None) -> CallTimeouts:
        """A short --timeout shortens each read too, so a stalled read never outlasts it by more than
        --timeout itself."""
        if deadline is None:
            return self
        return CallTimeouts(min(self.connect, deadline.seconds), min(self.read, deadline.seconds))


def client_config(max_pool: int, timeouts: CallTimeouts = CallTimeouts()) -> Config:
    # Adaptive mode adds client-side rate limiting on throttling errors to the standard retry backoff.
    # Retries are cut short by the deadline (deadline.py), so 10 attempts cannot outlast --timeout.
    return Config(
        retries={"mode": "adaptive", "max_attempts": 10},
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        max_pool_connections=max_pool,
        user_agent_extra="nhiaudit",
    )


@dataclass
class Clients:
    """Creates guarded clients for one boto3 session. A boto3 Session is not thread-safe, so each account
    task owns its Clients; the clients it creates are thread-safe and may be shared by that task's threads."""

    session: boto3.Session
    request_logs: tuple[RequestLog, ...] = ()
    max_pool: int = 10
    deadline: Deadline | None = None
    timeouts: CallTimeouts = CallTimeouts()
    _config: Config | None = field(default=None, init=False, repr=False)
    # Client creation is serialised: a task may create clients on the account's pool (resource policies)
    # while the account's thread creates others.
    _creating: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        install_guard(self.session.events)  # also covers clients made from the session elsewhere
        self._config = client_config(self.max_pool, self.timeouts.within(self.deadline))

    @property
    def region(self) -> str:
        return self.session.region_name or DEFAULT_REGION

    def client(self, service: str, region: str | None = None) -> Any:
        with self._creating:
            client = self.session.client(service, region_name=region or self.region, config=self._config)
        install_guard(client.meta.events)
        if self.deadline is not None:
            self.deadline.install(client.meta.events)
        for log in self.request_logs:
            log.install(client.meta.events)
        return client


@functools.cache
def _process_data_loader() -> Any:
    """botocore's loader of service models, one per process: a model is parsed once however many sessions
    (accounts, or scans run by one program) ask for it. Made by a default session, so it honours AWS_DATA_PATH."""
    return botocore.session.get_session().get_component("data_loader")


def base_session(profile: str | None) -> boto3.Session:
    """The default credential chain (profile, environment, SSO, container or instance role)."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _process_data_loader())
    return boto3.Session(profile_name=profile or None, botocore_session=core)


def assumed_session(sts_client: Any, role_arn: str, region: str, like: boto3.Session) -> boto3.Session:
    """A session with temporary credentials for `role_arn`. The credentials stay in memory only.

    It shares `like`'s botocore data loader: service models are then parsed once per run instead of once
    per account (about 0.3 s of CPU per account otherwise)."""
    reply = sts_client.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)
    creds = reply.get("Credentials") if isinstance(reply, dict) else None
    if not isinstance(creds, dict) or not all(
        isinstance(creds.get(k), str) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")
    ):
        raise RawDataError("AssumeRole reply has no credentials")
    core = botocore.session.get_session()
    core.register_component("data_loader", like._session.get_component("data_loader"))
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
        botocore_session=core,
    )
