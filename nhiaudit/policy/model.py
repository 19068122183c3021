"""The written AI-usage policy: pydantic models (the JSON Schema is generated from these)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator
from pydantic_core import PydanticCustomError


def _not_a_bool(value: object) -> object:
    # Python's bool is an int subclass, so pydantic takes `true` for 1 unless told otherwise.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer, not a boolean")
    return value


def _not_a_number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "Input should be a valid boolean (true or false), not a number")
    return value


PolicyDays = Annotated[int, Field(ge=0), BeforeValidator(_not_a_bool)]
PolicyMinutes = Annotated[int, Field(ge=1), BeforeValidator(_not_a_bool)]
PolicyBool = Annotated[bool, BeforeValidator(_not_a_number)]


class _Strict(BaseModel):
    """Unknown fields are errors; integers and booleans do not stand in for each other (PolicyDays, PolicyBool)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CredentialRules(_Strict):
    """Credential requirements. In `defaults` unset values take the built-in default; in an
    integration, unset values inherit from `defaults`."""

    max_age_days: PolicyDays | None = Field(None, description="Static credentials older than this violate.")
    max_unused_days: PolicyDays | None = Field(None, description="Active credentials unused this long violate.")
    require_expiry: PolicyBool | None = Field(None, description="Credentials must have an expiry date.")
    static_keys: Literal["allowed", "forbidden"] | None = Field(
        None, description="Whether static keys (access keys, SA keys, client secrets) may be used."
    )
    grace_days: PolicyDays | None = Field(
        None, description="A credential younger than this is never reported as unused."
    )
    max_session_minutes: PolicyMinutes | None = Field(
        None,
        description="Roles may not allow sessions longer than this (AWS MaxSessionDuration; AWS's shortest "
        "setting is 60). Unset: no limit.",
    )


BUILTIN_CREDENTIAL_RULES = CredentialRules(
    max_age_days=90, max_unused_days=30, require_expiry=False, static_keys="allowed", grace_days=7
)


class GcpDefaults(_Strict):
    """Google Cloud settings of the organisation."""

    domains: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                                                r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")]] = Field(
        default_factory=list,
        description="The organisation's own domains (`acme.com`). Users, groups and domains outside them that "
        "may impersonate a service account are risky trust. Subdomains count as inside.",
    )


class ClassificationTagValues(_Strict):
    """Values of one tag key that mark an identity as used by a person or by software."""

    human: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="Values meaning a person uses the identity (case-insensitive).")
    nhi: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="Values meaning software uses the identity (case-insensitive).")


class ClassificationDefaults(_Strict):
    """How identities are classified as human or non-human (docs/policy.md, nhiaudit/facts/classification.py)."""

    tags: dict[Annotated[str, Field(min_length=1)], ClassificationTagValues] | None = Field(
        None,
        description="Tag key -> the values meaning human and the values meaning nhi (keys and values compared "
        "case-insensitively). Unset: `{kind: {human: [human, person], nhi: [workload, service, bot, machine]}}`; "
        "`{}` turns tag classification off.",
    )


AuditRequirement = Literal["required", "optional"]


class AuditRules(_Strict):
    """What the cloud must record of an AI access path (docs/policy.md "audit"). In `defaults` unset values
    are `optional`; in an integration, unset values inherit from `defaults`."""

    model_invocations: AuditRequirement | None = Field(
        None, description="Model calls must be logged (AWS Bedrock invocation logging, GCP Data Access logs of "
        "Vertex AI / Generative Language, Azure diagnostic settings of the OpenAI / Cognitive Services account).")
    secret_access: AuditRequirement | None = Field(
        None, description="Secret reads must be logged (AWS CloudTrail management read events, GCP Data Access "
        "logs of Secret Manager, Azure Key Vault AuditEvent).")
    data_access: AuditRequirement | None = Field(
        None, description="Data access to the systems it may reach must be logged (AWS CloudTrail data events, "
        "GCP Data Access logs of the systems' services).")


BUILTIN_AUDIT_RULES = AuditRules(model_invocations="optional", secret_access="optional", data_access="optional")


class Defaults(_Strict):
    credentials: CredentialRules = Field(default_factory=CredentialRules)
    audit: AuditRules = Field(default_factory=AuditRules)
    gcp: GcpDefaults = Field(default_factory=GcpDefaults)
    classification: ClassificationDefaults = Field(default_factory=ClassificationDefaults)


class System(_Strict):
    """A downstream system the policy talks about, matched by resource patterns (`*` and `?` globs)."""

    kind: str | None = Field(None, description="e.g. data, ai-model, saas, code")
    description: str | None = None
    environment: str | None = Field(None, description="e.g. prod, staging, dev")
    classification: str | None = Field(None, description="e.g. public, internal, confidential, restricted")
    resources: list[str] = Field(
        min_length=1, description="Resource patterns (ARNs, GCP/Azure resource names, `delegated:<app>/<scope>`)."
    )


class RequireConditions(_Strict):
    """Grants that let the integration's identities reach its systems must test one of these request-time
    conditions (docs/policy.md, nhiaudit/policy/request_conditions.py)."""

    any_of: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1,
        description="Condition classes (network, tag, time, resource) or cloud keys: AWS `aws:SourceVpce`, "
        "`aws:ResourceTag/*`; GCP `request.time`, `resource.name`; Azure `@Environment[isPrivateLink]`. "
        "A grant testing any one of them is narrowed.",
    )
    systems: list[str] = Field(
        default_factory=list,
        description="Only grants reaching these systems (names in may_reach). Empty: every system in may_reach.",
    )


class Integration(_Strict):
    """An approved AI agent, copilot or integration and what it may touch."""

    name: str = Field(min_length=1)
    kind: str | None = Field(None, description="agent, copilot, integration, pipeline, ...")
    owner: str | None = None
    purpose: str | None = None
    environment: str | None = None
    identities: list[str] = Field(
        default_factory=list, description="Identity ids (ARN, SA email, object id); `*` globs allowed."
    )
    may_reach: list[str] = Field(default_factory=list, description="Names of systems it may reach.")
    must_not_reach: list[str] = Field(default_factory=list, description="Names of systems it must never reach.")
    credentials: CredentialRules = Field(default_factory=CredentialRules)
    require_conditions: RequireConditions | None = Field(
        None, description="Request-time conditions the grants reaching its may_reach systems must carry.")
    audit: AuditRules = Field(default_factory=AuditRules)


class PolicyException(_Strict):
    """A time-bound, owned, reasoned exception. After `expires` the finding is a violation again."""

    rule: str = Field(min_length=1, description="A rule id or a finding category.")
    identity: str = Field(min_length=1, description="Identity id (globs allowed); for findings about "
                          "a GCP member without identity, the member as bindings name it (`user:a@gmail.com`).")
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date
    credential: str | None = Field(None, description="Limit the exception to one credential id.")


class WrittenPolicy(_Strict):
    version: Literal[1]
    defaults: Defaults = Field(default_factory=Defaults)
    systems: dict[str, System] = Field(default_factory=dict)
    integrations: list[Integration] = Field(default_factory=list)
    humans: list[str] = Field(
        default_factory=list,
        description="Identities people use (ids or `*` globs, matched like an integration's `identities`): "
        "classified human. An identity an integration also lists stays non-human.",
    )
    exceptions: list[PolicyException] = Field(default_factory=list)

    # Where each entry came from: filled by the loader, keyed by the YAML path.
    _source_file: str = PrivateAttr(default="")
    _lines: dict[tuple[str | int, ...], tuple[int, int]] = PrivateAttr(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_an_integer(cls, value: object) -> object:
        # Literal[1] alone accepts True and 1.0 (they compare equal to 1).
        if type(value) is not int:
            raise ValueError("the version must be the integer 1")
        return value

    @property
    def source_file(self) -> str:
        return self._source_file

    def line_of(self, *path: str | int) -> int:
        """1-based line of the YAML node at `path` (e.g. ("integrations", 0)), or of its nearest parent."""
        key = tuple(path)
        while key:
            if key in self._lines:
                return self._lines[key][0]
            key = key[:-1]
        return 1

    def effective_credentials(self, integration: Integration | None) -> CredentialRules:
        """Built-in defaults <- policy defaults <- the integration's overrides."""
        merged = BUILTIN_CREDENTIAL_RULES.model_dump()
        for layer in (self.defaults.credentials, integration.credentials if integration else None):
            if layer is None:
                continue
            merged.update({k: v for k, v in layer.model_dump().items() if v is not None})
        return CredentialRules(**merged)

    def effective_audit(self, integration: Integration | None) -> AuditRules:
        """Built-in (everything optional) <- policy defaults <- the integration's overrides."""
        merged = BUILTIN_AUDIT_RULES.model_dump()
        for layer in (self.defaults.audit, integration.audit if integration else None):
            if layer is not None:
                merged.update({k: v for k, v in layer.model_dump().items() if v is not None})
        return AuditRules(**merged)


EMPTY_POLICY = WrittenPolicy(version=1)
