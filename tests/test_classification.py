"""Human / non-human classification (issue 11, points 1, 2 and 7): each precedence step and signal, the
written policy's `humans:` and `defaults.classification.tags`, the rules that read it, `explain`, and the
shadow-AI panel, end to end through the real CLI on `aws iam get-account-authorization-details` output and
a credential report CSV."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.errors import InputError
from nhiaudit.facts.classification import (
    BUILTIN_CLASSIFICATION_TAGS,
    NHI_NAME_TOKENS,
    TagRules,
    classify,
    name_signal,
    name_tokens,
)
from nhiaudit.inventory.model import (
    Credential,
    CredentialType,
    HumanUse,
    Identity,
    IdentityKind,
    Provider,
    Trust,
    TrustKind,
    Workload,
)
from nhiaudit.policy.loader import load_policy_text
from nhiaudit.policy.model import EMPTY_POLICY
from nhiaudit.rules_engine.cases import run_rule_cases
from nhiaudit.rules_engine.loader import load_rule_file, rule_files, shipped_rules_dir

ACCOUNT = "111122223333"
NOW = datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)
AS_OF = "2026-11-28"
RULES = TagRules.from_policy(EMPTY_POLICY)


def arn(kind: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}{path}{name}"


def user(name: str, tags: dict[str, str] | None = None, human: HumanUse | None = None) -> Identity:
    return Identity(id=arn("user", name), provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind.USER, name=name,
                    tags=tags or {}, human_use=human)


def role(name: str, path: str = "/") -> Identity:
    return Identity(id=arn("role", name, path), provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind.ROLE,
                    name=name, attributes={"path": path})


def key(identity: Identity, used: datetime | None = None, service: str | None = None,
        active: bool = True) -> Credential:
    return Credential(id=f"AKIA{identity.name.upper()[:12]}", identity_id=identity.id, provider=Provider.AWS,
                      type=CredentialType.ACCESS_KEY, created=datetime(2026, 1, 1, tzinfo=UTC), last_used=used,
                      last_used_service=service, active=active)


def trust(identity: Identity, principal: str, kind: TrustKind) -> Trust:
    return Trust(identity_id=identity.id, principal=principal, kind=kind, reason="trust policy, statement 0")


def run_classify(identity: Identity, credentials=(), trusts=(), workloads=(), integrations=(), rules=RULES,
                 humans=()):
    return classify(identity, list(credentials), list(trusts), list(workloads), list(integrations), rules, NOW,
                    list(humans))


PASSWORD_USED = HumanUse(console_password=True, password_last_used=datetime(2026, 11, 25, tzinfo=UTC))


# --- 1. the written policy ------------------------------------------------------------------------------


def test_policy_integration_makes_nhi_and_humans_make_human_and_integration_wins():
    alice = user("alice.patel", {"kind": "human"}, PASSWORD_USED)
    listed = run_classify(alice, integrations=["bi-insights"])
    assert (listed.cls, listed.source, listed.reasons) == ("nhi", "policy", ("listed under integration bi-insights",))
    bot = user("report-bot", {"kind": "workload"})
    person = run_classify(bot, humans=[arn("user", "report-*")])
    assert (person.cls, person.source) == ("human", "policy")
    assert person.reasons == (f"listed under humans: {arn('user', 'report-*')}",)
    both = run_classify(bot, integrations=["reports"], humans=[bot.id])
    assert (both.cls, both.source) == ("nhi", "policy")
    assert both.reasons == ("listed under integration reports", f"listed under humans: {bot.id}")


# --- 2. tags --------------------------------------------------------------------------------------------


def test_builtin_tag_rule_compares_keys_and_values_case_insensitively():
    assert BUILTIN_CLASSIFICATION_TAGS["kind"]["human"] == ("human", "person")
    human = run_classify(user("jdoe", {"Kind": " Person "}), [key(user("jdoe"))])
    assert (human.cls, human.source, human.reasons) == ("human", "tag", ("tag kind=person",))
    worker = run_classify(role("anything"), trusts=[trust(role("anything"), "arn:aws:iam::1:saml-provider/okta",
                                                          TrustKind.FEDERATED)])
    assert worker.cls == "human"  # a SAML-only role: kind step
    tagged = run_classify(user("etl-loader", {"kind": "WORKLOAD"}, HumanUse(console_password=True)))
    assert (tagged.cls, tagged.source, tagged.reasons) == ("nhi", "tag", ("tag kind=workload",))


def test_conflicting_tags_fall_through_and_keep_their_reasons():
    both = user("jdoe", {"kind": "human", "Kind": "bot"}, HumanUse(console_password=True, mfa_active=True))
    result = run_classify(both)
    assert (result.cls, result.source) == ("human", "signals")
    assert result.reasons[0] == "conflicting tags: tag kind=human (human), tag kind=bot (nhi)"
    tagged_role = role("app").model_copy(update={"tags": {"kind": "person", "KIND": "machine"}})
    on_role = run_classify(tagged_role)
    assert (on_role.cls, on_role.source) == ("nhi", "kind")
    assert on_role.reasons == ("conflicting tags: tag kind=person (human), tag kind=machine (nhi)", "an IAM role")


def test_policy_tag_rules_replace_the_builtin_one_and_empty_turns_tags_off():
    custom = TagRules.from_policy(load_policy_text(
        "version: 1\ndefaults:\n  classification:\n    tags:\n      team: {human: [people-ops], nhi: [platform]}\n",
        "p.yaml"))
    platform = run_classify(user("jdoe", {"Team": "Platform", "kind": "human"}), rules=custom)
    assert (platform.cls, platform.source, platform.reasons) == ("nhi", "tag", ("tag team=platform",))
    off = TagRules.from_policy(load_policy_text(
        "version: 1\ndefaults:\n  classification:\n    tags: {}\n", "p.yaml"))
    assert run_classify(user("jdoe", {"kind": "human"}), rules=off).source == "none"


# --- 3. kind and 4. workloads ---------------------------------------------------------------------------


@pytest.mark.parametrize("identity, reason", [
    (role("AWSReservedSSO_AdministratorAccess_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/"),
     "an IAM Identity Center (SSO) role people sign in to"),
    (role("AWSReservedSSO_ReadOnly_0123456789abcdef"), "an IAM Identity Center (SSO) role people sign in to"),
])
def test_identity_center_roles_are_human(identity, reason):
    result = run_classify(identity)
    assert (result.cls, result.source, result.reasons) == ("human", "kind", (reason,))


def test_saml_only_roles_are_human_and_any_other_trust_makes_a_role_nhi():
    admin = role("okta-admins")
    saml = trust(admin, "arn:aws:iam::111122223333:saml-provider/Okta", TrustKind.FEDERATED)
    result = run_classify(admin, trusts=[saml])
    assert (result.cls, result.reasons) == ("human", ("trusted only by SAML provider(s) Okta",))
    oidc = trust(admin, "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
                 TrustKind.FEDERATED)
    lam = trust(admin, "lambda.amazonaws.com", TrustKind.SERVICE)
    for extra in (oidc, lam):
        mixed = run_classify(admin, trusts=[saml, extra])
        assert (mixed.cls, mixed.source, mixed.reasons) == ("nhi", "kind", ("an IAM role",))


@pytest.mark.parametrize("kind, reason", [
    (IdentityKind.SERVICE_ACCOUNT, "a GCP service account"),
    (IdentityKind.SERVICE_PRINCIPAL, "an Entra ID service principal"),
    (IdentityKind.MANAGED_IDENTITY, "an Azure managed identity"),
    (IdentityKind.APPLICATION, "an Entra ID application"),
])
def test_other_providers_machine_kinds_are_nhi(kind, reason):
    ident = Identity(id="x", provider=Provider.GCP, account="p", kind=kind, name="alice.patel")
    assert run_classify(ident).reasons == (reason,)


def test_a_workload_running_as_an_identity_makes_it_nhi():
    ident = Identity(id="other", provider=Provider.AWS, account=ACCOUNT, kind=IdentityKind.OTHER, name="x")
    wl = Workload(id="fn", provider=Provider.AWS, account=ACCOUNT, kind="lambda", name="nightly", identity_id="other")
    result = run_classify(ident, workloads=[wl])
    assert (result.cls, result.source, result.reasons) == ("nhi", "signals", ("lambda nightly runs as it",))
    assert run_classify(ident).cls == "unknown"


# --- 5. signals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, tokens", [
    ("ci-deployer", ["ci", "deployer"]),
    ("CIDeployer", ["ci", "deployer"]),
    ("svc01_backupJob", ["svc", "01", "backup", "job"]),
    ("alice.patel@acme.example", ["alice", "patel", "acme", "example"]),
    ("alice.robotham", ["alice", "robotham"]),
])
def test_names_are_split_into_whole_words(name, tokens):
    assert name_tokens(name) == tokens


@pytest.mark.parametrize("name, expected", [
    ("ci-deployer", ("nhi", "name has the software word(s) ci, deployer")),
    ("etl_loader", ("nhi", "name has the software word(s) etl, loader")),
    ("deploy.bot@acme.example", ("nhi", "name has the software word(s) deploy, bot")),
    ("alice.patel", ("human", "name is shaped like first.last")),
    ("mary-jane.van.dyke", ("human", "name is shaped like first.last")),
    ("alice.robotham", ("human", "name is shaped like first.last")),  # whole words only: no `robot`
    ("j.smith@acme.example", ("human", "name is an e-mail address")),
    ("jdoe", None),
    ("alice.patel.2", None),
])
def test_name_signals(name, expected):
    assert name_signal(name) == expected


def test_software_words_are_data():
    assert {"bot", "svc", "ci", "deployer", "terraform", "runner", "lambda"} <= NHI_NAME_TOKENS
    assert not {"admin", "test", "ops", "sa"} & NHI_NAME_TOKENS


def test_key_only_user_is_nhi_with_the_service_that_used_the_key():
    ident = user("jdoe")
    result = run_classify(ident, [key(ident, datetime(2026, 11, 27, tzinfo=UTC), "s3")])
    assert (result.cls, result.source, result.reasons) == (
        "nhi", "signals", ("access key used by s3 1 day ago, no console password",))
    never = run_classify(ident, [key(ident)])
    assert never.reasons == ("active access key never used, no console password",)
    assert run_classify(ident, [key(ident, active=False)]).cls == "unknown"  # an inactive key says nothing


def test_human_signals_mfa_and_console_only():
    mfa = run_classify(user("jdoe", human=HumanUse(mfa_active=True)))
    assert (mfa.cls, mfa.reasons) == ("human", ("MFA device active",))
    console = run_classify(user("jdoe", human=HumanUse(console_password=True)))
    assert console.reasons == ("console password (never used) and no active access key",)
    used = run_classify(user("jdoe", human=PASSWORD_USED))
    assert used.reasons == ("console password (used 3 days ago) and no active access key",)


def test_a_password_next_to_a_key_is_no_signal():
    """People with a CLI key and software someone signs in with look alike; the name tells them apart."""
    ident = user("jdoe", human=PASSWORD_USED)
    assert run_classify(ident, [key(ident, NOW, "sts")]).source == "none"
    deployer = user("ci-deployer", human=PASSWORD_USED)
    software = run_classify(deployer, [key(deployer, NOW, "cloudformation")])
    assert (software.cls, software.reasons) == ("nhi", ("name has the software word(s) ci, deployer",))
    person = user("alice.patel", human=PASSWORD_USED)
    assert run_classify(person, [key(person, NOW, "sts")]).cls == "human"


def test_signals_on_both_sides_or_none_leave_the_user_unknown():
    ident = user("ci-deployer", human=HumanUse(console_password=True, mfa_active=True))
    both = run_classify(ident, [key(ident, NOW, "cloudformation")])
    assert (both.cls, both.source) == ("unknown", "signals")
    assert both.reasons == ("human: MFA device active", "nhi: name has the software word(s) ci, deployer")
    neither = run_classify(user("jdoe"))
    assert (neither.cls, neither.source, neither.reasons) == (
        "unknown", "none", ("no policy entry, tag or signal decides",))


def test_hostile_names_cost_bounded_work_and_are_never_quoted():
    huge = "a" * 2_000_000 + "bot"
    start = time.perf_counter()
    assert name_tokens(huge) == ["a" * 256]  # only the first 256 characters are read
    assert name_signal("." * 1_000_000 + "@" * 1_000_000) is None
    result = run_classify(user("x\x1b[2J" * 1000 + "-svc"))
    assert time.perf_counter() - start < 2
    assert all("\x1b" not in r for r in result.reasons)


def test_classification_is_deterministic():
    ident = user("ci-deployer", human=PASSWORD_USED)
    keys = [key(ident, NOW, "s3"), key(ident.model_copy(update={"name": "other"}), NOW, "ec2")]
    assert run_classify(ident, keys) == run_classify(ident, list(reversed(keys)))


# --- the written policy ---------------------------------------------------------------------------------


def test_policy_loads_classification_tags_and_humans():
    policy = load_policy_text(
        "version: 1\n"
        "defaults:\n  classification:\n    tags:\n      kind: {human: [human], nhi: [workload]}\n"
        "humans:\n  - arn:aws:iam::111122223333:user/alice.patel\n", "p.yaml")
    assert policy.humans == ["arn:aws:iam::111122223333:user/alice.patel"]
    assert policy.defaults.classification.tags["kind"].nhi == ["workload"]
    assert EMPTY_POLICY.defaults.classification.tags is None


@pytest.mark.parametrize("text, message", [
    ("version: 1\ndefaults:\n  classification:\n    tags:\n      kind: {human: [Bot], nhi: [bot]}\n",
     "p.yaml:5:34: defaults.classification.tags.kind.nhi[0]: value 'bot' of tag 'kind' is listed as both human "
     "and nhi"),
    ("version: 1\ndefaults:\n  classification:\n    tag: {}\n",
     "p.yaml:4:5: defaults.classification.tag: unknown field; did you mean 'tags'?"),
    ("version: 1\ndefaults:\n  classification:\n    tags:\n      kind: {humans: [x]}\n",
     "p.yaml:5:14: defaults.classification.tags.kind.humans: unknown field; did you mean 'human'?"),
    ("version: 1\nhumans: arn:aws:iam::111122223333:user/alice\n",
     "p.yaml:2:9: humans: input should be a valid list"),
])
def test_policy_errors_have_their_location(text, message):
    with pytest.raises(InputError) as info:
        load_policy_text(text, "p.yaml")
    assert any(str(p).startswith(message) for p in info.value.problems), [str(p) for p in info.value.problems]


def test_disabled_shipped_rules_pass_their_own_cases():
    disabled = [load_rule_file(p) for p in rule_files(shipped_rules_dir())]
    disabled = [c for c in disabled if not c.rule.enabled]
    assert "human-access-key" in {c.rule.id for c in disabled}
    for compiled in disabled:
        results = run_rule_cases(compiled)
        assert results and all(r.ok for r in results), [(r.case, r.detail) for r in results if not r.ok]


# --- end to end: AWS CLI exports through the real CLI ---------------------------------------------------

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
BEDROCK = {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/*"}
S3_READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-reports/*"}
CREATED = "2025-01-10T09:00:00+00:00"
# user -> (tags, inline statements, managed policy arns)
USERS: dict[str, tuple[dict[str, str], list[dict], list[str]]] = {
    "alice.patel": ({"kind": "human"}, [S3_READ], []),
    "etl-loader": ({"kind": "workload"}, [S3_READ], []),
    "ci-deployer": ({}, [], [ADMIN_ARN]),
    "build-runner": ({}, [S3_READ], []),
}
# user -> (password_enabled, password_last_used, mfa_active, key_1 active, key_1 last used, key_1 service)
REPORT: dict[str, tuple[bool, str, bool, bool, str, str]] = {
    "alice.patel": (True, "2026-11-27T08:00:00+00:00", True, True, "2026-11-26T10:00:00+00:00", "sts"),
    "etl-loader": (True, "2026-11-25T03:00:00+00:00", False, False, "N/A", "N/A"),
    "ci-deployer": (True, "2026-11-20T12:00:00+00:00", False, True, "2026-11-27T22:00:00+00:00", "cloudformation"),
    "build-runner": (True, "N/A", False, True, "2026-11-28T01:00:00+00:00", "s3"),
}


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _role(name: str, path: str, trust: dict, inline: list[dict], managed: list[str]) -> dict:
    return {
        "Path": path, "RoleName": name, "RoleId": f"AROA{name.upper()[:16]:X<16}", "Arn": arn("role", name, path),
        "CreateDate": CREATED, "AssumeRolePolicyDocument": _doc(trust), "InstanceProfileList": [],
        "RolePolicyList": [{"PolicyName": "access", "PolicyDocument": _doc(*inline)}] if inline else [],
        "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed],
        "Tags": [], "RoleLastUsed": {},
    }


def authorization_details() -> dict:
    """`aws iam get-account-authorization-details` output (the CLI merges the pages)."""
    users = [{
        "Path": "/", "UserName": name, "UserId": f"AIDA{name.upper().replace('.', '').replace('-', '')[:16]:X<16}",
        "Arn": arn("user", name), "CreateDate": CREATED,
        "UserPolicyList": [{"PolicyName": "access", "PolicyDocument": _doc(*inline)}] if inline else [],
        "GroupList": [],
        "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed],
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    } for name, (tags, inline, managed) in USERS.items()]
    sso_path = "/aws-reserved/sso.amazonaws.com/"
    provider = f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_0a1b_DO_NOT_DELETE"
    saml = {"Effect": "Allow", "Principal": {"Federated": provider},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}
    roles = [
        _role("AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6a7b", sso_path, saml, [], [ADMIN_ARN]),
        _role("ml-notebook", "/", {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}, [BEDROCK], []),
    ]
    admin = {
        "PolicyName": "AdministratorAccess", "PolicyId": "ANPAIWMBCKSKIEE64ZLYK", "Arn": ADMIN_ARN,
        "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 2, "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True, "CreateDate": "2015-02-06T18:39:46+00:00", "UpdateDate": "2015-02-06T18:39:46+00:00",
        "PolicyVersionList": [{"Document": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                               "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": "2015-02-06T18:39:46+00:00"}],
    }
    return {"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": [admin]}


def credential_report() -> str:
    """The decoded credential report, as `aws iam get-credential-report` holds it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["user", "arn", "user_creation_time", "password_enabled", "password_last_used",
                     "password_last_changed", "password_next_rotation", "mfa_active", "access_key_1_active",
                     "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region",
                     "access_key_1_last_used_service", "access_key_2_active", "access_key_2_last_rotated",
                     "access_key_2_last_used_date", "access_key_2_last_used_region",
                     "access_key_2_last_used_service", "cert_1_active", "cert_1_last_rotated", "cert_2_active",
                     "cert_2_last_rotated"])
    writer.writerow(["<root_account>", f"arn:aws:iam::{ACCOUNT}:root", "2020-01-01T00:00:00+00:00",
                     "not_supported", "2026-09-01T10:00:00+00:00", "not_supported", "not_supported", "true",
                     "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A",
                     "false", "N/A"])
    for name, (password, password_used, mfa, key_active, key_used, service) in REPORT.items():
        flag = {True: "true", False: "false"}
        rotated = "2026-10-01T09:00:00+00:00" if key_active else "N/A"
        writer.writerow([name, arn("user", name), CREATED, flag[password], password_used if password else "N/A",
                         CREATED if password else "N/A", "N/A", flag[mfa], flag[key_active], rotated,
                         key_used, "eu-west-1" if key_active else "N/A", service, "false", "N/A", "N/A", "N/A",
                         "N/A", "false", "N/A", "false", "N/A"])
    return out.getvalue()


POLICY = """\
version: 1
systems:
  reports: {resources: ["arn:aws:s3:::acme-reports*"]}
"""


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("exports")
    (directory / "authorization-details.json").write_text(json.dumps(authorization_details(), indent=4))
    (directory / "credential-report.csv").write_text(credential_report())
    return directory


def scan(exports: Path, tmp: Path, policy: str = POLICY, *extra: str) -> dict:
    (tmp / "policy.yaml").write_text(policy)
    result = CliRunner().invoke(build_app(), ["scan", "--import", str(exports), "--policy", str(tmp / "policy.yaml"),
                                              "--as-of", AS_OF, "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def hits(report: dict, rule: str) -> dict[str, dict]:
    return {f["identity"]["name"]: f for f in report["findings"] if f["rule_id"] == rule}


def test_exports_scan_reports_nhi_human_use_and_admins_by_classification(exports, tmp_path):
    report = scan(exports, tmp_path)
    human_use = hits(report, "human-use-of-nhi")
    # Not alice.patel, a person with a CLI key; ci-deployer and build-runner by their names.
    assert set(human_use) == {"etl-loader", "build-runner", "ci-deployer"}
    etl = human_use["etl-loader"]
    assert "tag kind=workload" in etl["message"]
    assert etl["evidence"]["classification"] == ["tag kind=workload"] and etl["evidence"]["classified_by"] == "tag"
    assert human_use["build-runner"]["evidence"]["classification"] == ["name has the software word(s) runner"]

    admins = hits(report, "admin-access")
    # The CI deployer has a console password too; the SSO administrator role is a person's.
    assert set(admins) == {"ci-deployer"}
    ci = admins["ci-deployer"]
    assert ci["severity"] == "critical" and ci["message"].endswith("can call AI models: yes")
    assert ci["evidence"]["can_invoke_ai"] is True and ci["evidence"]["classification"] == "nhi"
    assert "human-access-key" not in {f["rule_id"] for f in report["findings"]}  # off by default


def test_shadow_ai_panel_lists_explicit_ai_access_only(exports, tmp_path):
    report = scan(exports, tmp_path)
    undeclared = {p["identity_name"] for p in report["access_paths"] if p["integration"] is None}
    assert undeclared == {"ml-notebook"} == set(hits(report, "ai-undeclared"))
    table = CliRunner().invoke(build_app(), ["scan", "--import", str(exports), "--policy",
                                             str(tmp_path / "policy.yaml"), "--as-of", AS_OF, "--format", "table"])
    panel = table.stdout[table.stdout.index("undeclared AI access"):]
    assert "ml-notebook" in panel and "ci-deployer" not in panel.split("findings")[0]


def test_a_humans_entry_turns_a_machine_looking_user_into_a_person(exports, tmp_path):
    policy = POLICY + f"humans:\n  - \"arn:aws:iam::{ACCOUNT}:user/build-*\"\n"
    report = scan(exports, tmp_path, policy)
    assert set(hits(report, "human-use-of-nhi")) == {"etl-loader", "ci-deployer"}
    # Listed under an integration too: software wins.
    declared = policy + ("integrations:\n  - name: builds\n"
                         f"    identities: [\"arn:aws:iam::{ACCOUNT}:user/build-runner\"]\n")
    assert "build-runner" in hits(scan(exports, tmp_path, declared), "human-use-of-nhi")


def test_tags_from_the_policy_replace_the_builtin_rule(exports, tmp_path):
    policy = POLICY + "defaults:\n  classification:\n    tags:\n      team: {human: [x], nhi: [y]}\n"
    human_use = hits(scan(exports, tmp_path, policy), "human-use-of-nhi")
    assert "etl-loader" not in human_use  # kind=workload no longer counts; its password makes it unknown


def test_human_access_key_is_enabled_by_copying_it_into_a_rules_directory(exports, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (shipped_rules_dir() / "human-access-key.yaml").read_text().replace("enabled: false", "enabled: true")
    (rules / "human-access-key.yaml").write_text(text)
    found = hits(scan(exports, tmp_path, POLICY, "--rules", str(rules)), "human-access-key")
    assert set(found) == {"alice.patel"} and found["alice.patel"]["severity"] == "info"
    assert found["alice.patel"]["evidence"]["classification"] == ["tag kind=human"]


def test_explain_shows_the_classification_and_why(exports, tmp_path):
    (tmp_path / "policy.yaml").write_text(POLICY)
    args = ["--import", str(exports), "--policy", str(tmp_path / "policy.yaml"), "--as-of", AS_OF]

    def explain(target: str, fmt: str) -> str:
        result = CliRunner().invoke(build_app(), ["explain", target, *args, "--format", fmt])
        assert result.exit_code == 0, result.output
        return result.stdout

    data = json.loads(explain(arn("user", "etl-loader"), "json"))
    ident = data["paths"][0]["identity"]
    assert (ident["classification"], ident["classification_source"], ident["classification_reasons"]) == (
        "nhi", "tag", ["tag kind=workload"])
    assert "classified: nhi (tag): tag kind=workload" in explain(arn("user", "etl-loader"), "table")
    markdown = explain(arn("user", "alice.patel"), "markdown")
    assert "- classified **human** (by tag): tag kind=human" in markdown
    sso = json.loads(explain("AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6a7b", "json"))
    assert sso["paths"][0]["identity"]["classification_reasons"] == [
        "an IAM Identity Center (SSO) role people sign in to"]


def test_explain_escapes_estate_text_in_the_reasons():
    from nhiaudit.explain.markdown import explanation_markdown
    from nhiaudit.explain.model import Explanation, IdentityView, PathView, TaskView
    from nhiaudit.explain.tree import classification_text

    ident = IdentityView(id="i", name="n", provider="aws", account=ACCOUNT, kind="other", classification="nhi",
                         classification_source="signals",
                         classification_reasons=("lambda <img src=x onerror=alert(1)>|\x1b[2J runs as it",))
    path = PathView(identity=ident, task=TaskView(declared=False), workloads=(), credentials=(),
                    can_invoke_ai=False, ai_access=(), reach=())
    markdown = explanation_markdown(Explanation("identity", "i", "n", AS_OF, None, False, (path,)))
    line = next(x for x in markdown.splitlines() if x.startswith("- classified"))
    assert "\\<img" in line and "<" not in line.replace("\\<", "") and "\x1b" not in line
    assert "\x1b" not in classification_text(ident).plain
