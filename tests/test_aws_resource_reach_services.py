"""Reach through SQS queue, SNS topic and Lambda function policies, collected live from moto through the real CLI
(`collect` / `scan` with real boto3: GetQueueAttributes Policy, GetTopicAttributes Policy, Lambda GetPolicy).

Same account: the resource policy alone grants (the roles hold no identity policy at all). Another account: the
identity policy AND the resource policy must allow. Each reach is a `scope-forbidden-system` finding whose evidence
names the queue / topic / function policy statement; the twin resource without that statement (no policy, or
SNS's default policy) is not reached by the same identity, and neither is a role that only one side allows."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_support import Moto, aws_env, moto  # noqa: F401
from test_aws_resource_policies import GAAD_A, RP, hits, imports
from test_aws_resource_policies import scan as scan_imports
from typer.testing import CliRunner

from nhiaudit.cli import build_app

REGION = "us-east-1"
SAME = "333300000003"  # the roles and the resources of the same-account case
AGENT = "444400000004"  # the partner's roles (cross-account case)
DATA = "555500000005"  # the resources the partner's roles are let into
AS_OF = "2026-11-28"


def arn(service: str, account: str, name: str) -> str:
    return {"sqs": f"arn:aws:sqs:{REGION}:{account}:{name}", "sns": f"arn:aws:sns:{REGION}:{account}:{name}",
            "lambda": f"arn:aws:lambda:{REGION}:{account}:function:{name}",
            "role": f"arn:aws:iam::{account}:role/{name}"}[service]


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def grant(sid: str, principal: str | list[str], action: str, resource: str) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": resource}


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buf.getvalue()


def _roles(moto: Moto, account: str, names: list[str], allow: list[str] | None = None) -> None:  # noqa: F811
    iam = moto.client("iam", account)
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    for name in names:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        if allow:
            iam.put_role_policy(RoleName=name, PolicyName="sends", PolicyDocument=doc(
                {"Effect": "Allow", "Action": allow, "Resource": "*"}))


def _functions(moto: Moto, account: str, names: list[str]) -> None:  # noqa: F811
    trust = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    role = moto.client("iam", account).create_role(RoleName="fn-exec", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    for name in names:
        moto.client("lambda", account).create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                                       Handler="app.handler", Code={"ZipFile": _zip()})


def _aws_shaped_principal(account: str, function: str, sid: str, principal: str) -> None:
    """AWS stores an AddPermission principal that is a role ARN as {"AWS": ARN}; moto keeps the bare string (no
    policy grammar). The statement moto made is put in AWS's shape in its in-process backend."""
    from moto.awslambda.models import lambda_backends

    policy = lambda_backends[account][REGION].get_function(function).policy
    (statement,) = [s for s in policy.statements if s.get("Sid") == sid]
    statement["Principal"] = {"AWS": principal}


@pytest.fixture(scope="module")
def estate(moto: Moto) -> Moto:  # noqa: F811
    moto.reset()
    # Same account: three roles without any identity policy, each named by one resource's policy.
    _roles(moto, SAME, ["queue-writer", "topic-publisher", "function-caller"])
    sqs = moto.client("sqs", SAME)
    sqs.create_queue(QueueName="orders", Attributes={"Policy": doc(grant(
        "WriterSends", arn("role", SAME, "queue-writer"), "sqs:SendMessage", arn("sqs", SAME, "orders")))})
    sqs.create_queue(QueueName="orders-twin")  # no policy
    sns = moto.client("sns", SAME)
    for topic in ("payments", "payments-twin"):
        sns.create_topic(Name=topic)  # moto sets SNS's default policy (AWS:SourceOwner of the owner)
    sns.set_topic_attributes(TopicArn=arn("sns", SAME, "payments"), AttributeName="Policy", AttributeValue=doc(grant(
        "PublisherPublishes", arn("role", SAME, "topic-publisher"), "sns:Publish", arn("sns", SAME, "payments"))))
    _functions(moto, SAME, ["refund", "refund-twin"])
    moto.client("lambda", SAME).add_permission(FunctionName="refund", StatementId="CallerInvokes",
                                               Action="lambda:InvokeFunction",
                                               Principal=arn("role", SAME, "function-caller"))
    _aws_shaped_principal(SAME, "refund", "CallerInvokes", arn("role", SAME, "function-caller"))

    # Cross account: `partner` may send, publish and invoke anywhere (identity policy); `partner-idle` may not.
    _roles(moto, AGENT, ["partner"], allow=["sqs:SendMessage", "sns:Publish", "lambda:InvokeFunction"])
    _roles(moto, AGENT, ["partner-idle"])
    partners = [arn("role", AGENT, "partner"), arn("role", AGENT, "partner-idle")]
    sqs = moto.client("sqs", DATA)
    sqs.create_queue(QueueName="inbox", Attributes={"Policy": doc(grant(
        "PartnersSend", partners, "sqs:SendMessage", arn("sqs", DATA, "inbox")))})
    sqs.create_queue(QueueName="inbox-twin")
    sns = moto.client("sns", DATA)
    for topic in ("events", "events-twin"):
        sns.create_topic(Name=topic)
    sns.set_topic_attributes(TopicArn=arn("sns", DATA, "events"), AttributeName="Policy", AttributeValue=doc(grant(
        "PartnersPublish", partners, "sns:Publish", arn("sns", DATA, "events"))))
    _functions(moto, DATA, ["enrich", "enrich-twin"])
    # The partner's account root: the account delegates to its identity policies (moto keeps this shape).
    moto.client("lambda", DATA).add_permission(FunctionName="enrich", StatementId="PartnerAccountInvokes",
                                               Action="lambda:InvokeFunction", Principal=f"arn:aws:iam::{AGENT}:root")
    return moto


def policy_yaml(account: str, names: dict[str, list[str]], integrations: dict[str, list[str]]) -> str:
    """Systems named after their resource (and `-twin`), all forbidden to every integration."""
    lines = ["version: 1", "systems:"]
    systems = []
    for service, resources in names.items():
        for name in resources:
            systems.append(name)
            lines += [f"  {name}:", "    environment: prod", f'    resources: ["{arn(service, account, name)}"]']
    lines.append("integrations:")
    for integration, identities in integrations.items():
        lines += [f"  - name: {integration}", f"    identities: {json.dumps(identities)}", "    may_reach: []",
                  f"    must_not_reach: {json.dumps(systems)}"]
    return "\n".join(lines) + "\n"


SAME_SYSTEMS = {"sqs": ["orders", "orders-twin"], "sns": ["payments", "payments-twin"],
                "lambda": ["refund", "refund-twin"]}
DATA_SYSTEMS = {"sqs": ["inbox", "inbox-twin"], "sns": ["events", "events-twin"], "lambda": ["enrich", "enrich-twin"]}
SAME_POLICY = policy_yaml(SAME, SAME_SYSTEMS, {
    "order-bot": [arn("role", SAME, "queue-writer")], "billing-bot": [arn("role", SAME, "topic-publisher")],
    "refund-bot": [arn("role", SAME, "function-caller")]})
DATA_POLICY = policy_yaml(DATA, DATA_SYSTEMS, {"partner": [arn("role", AGENT, "partner")],
                                              "partner-idle": [arn("role", AGENT, "partner-idle")]})


def cli(*args: str) -> Any:
    return CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "400"})


def collect(tmp: Path, account: str) -> str:
    out = tmp / f"{account}.json"
    result = cli("collect", "--aws-role-arn", arn("role", account, "auditor"), "--aws-regions", REGION, "-o",
                 str(out), "--quiet")
    assert result.exit_code == 0, result.output
    return str(out)


def scan(tmp: Path, policy: str, *snapshots: str) -> dict[str, Any]:
    (tmp / "policy.yaml").write_text(policy, encoding="utf-8")
    args = [part for s in snapshots for part in ("--snapshot", s)]
    result = cli("scan", *args, "--policy", str(tmp / "policy.yaml"), "--format", "json", "--fail-on", "none",
                 "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["collection"]["complete"], report["collection"]["errors"]
    return report


def forbidden(report: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    """The role's scope-forbidden-system findings, by system."""
    return {f["evidence"]["system"]: f for f in report["findings"]
            if f["rule_id"] == "scope-forbidden-system" and f["identity"]["id"] == role}


SAME_CASES = [  # (role, the system its resource's policy lets it into, what evidence calls that statement)
    ("queue-writer", "orders", f'queue policy of {arn("sqs", SAME, "orders")}, statement 0 "WriterSends" allows '
                               f'sqs:SendMessage on {arn("sqs", SAME, "orders")}'),
    ("topic-publisher", "payments", f'topic policy of {arn("sns", SAME, "payments")}, statement 0 '
                                    f'"PublisherPublishes" allows sns:Publish on {arn("sns", SAME, "payments")}'),
    ("function-caller", "refund", f'function policy of {arn("lambda", SAME, "refund")}, statement 0 "CallerInvokes" '
                                  f'allows lambda:InvokeFunction on {arn("lambda", SAME, "refund")}'),
]
DATA_CASES = [
    ("inbox", f'queue policy of {arn("sqs", DATA, "inbox")}, statement 0 "PartnersSend" allows sqs:SendMessage'),
    ("events", f'topic policy of {arn("sns", DATA, "events")}, statement 0 "PartnersPublish" allows sns:Publish'),
    ("enrich", f'function policy of {arn("lambda", DATA, "enrich")}, statement 0 "PartnerAccountInvokes" allows '
               f"lambda:InvokeFunction"),
]
READS = {"sqs:GetQueueAttributes", "sns:GetTopicAttributes", "lambda:GetPolicy"}


def test_same_account_queue_topic_and_function_policies_alone_grant_the_role_they_name(
    estate, aws_env, tmp_path  # noqa: F811
):
    snapshot = collect(tmp_path, SAME)
    assert set(aws_env.front.operations()) >= READS  # the policies were read live, not assumed
    report = scan(tmp_path, SAME_POLICY, snapshot)
    for role, system, statement in SAME_CASES:
        found = forbidden(report, arn("role", SAME, role))
        # Only the resource whose policy names it: not the twin (no policy, or SNS's default policy), not the
        # other roles' resources. The role has no identity policy, so nothing else could grant it.
        assert set(found) == {system}, (role, sorted(found))
        finding = found[system]
        assert (finding["severity"], finding["category"], finding["evidence"]["access"]) == (
            "critical", "scope-drift", "write")
        assert finding["evidence"]["conditional"] is False
        (hop,) = finding["evidence"]["path"]
        assert statement in hop and f"[principal {arn('role', SAME, role)}]" in hop
        assert "inline:" not in hop  # the resource policy alone
    # explain's default text shows the same statement on the role's path.
    result = cli("explain", arn("role", SAME, "function-caller"), "--snapshot", snapshot, "--policy",
                 str(tmp_path / "policy.yaml"), "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "function-caller --[can_reach: write]--> refund" in text
    assert "refund [prod] write directly must_not_reach" in text and SAME_CASES[2][2] in text
    assert "refund-twin [prod]" not in text  # listed as forbidden, never as reached


def test_cross_account_needs_the_identity_policy_and_the_resource_policy(estate, aws_env, tmp_path):  # noqa: F811
    report = scan(tmp_path, DATA_POLICY, collect(tmp_path, AGENT), collect(tmp_path, DATA))
    partner = arn("role", AGENT, "partner")
    found = forbidden(report, partner)
    # Its identity policy allows sending, publishing and invoking anywhere; only the resources whose policies
    # let it in are reached: the twins (held, without such a statement) are not.
    assert set(found) == {system for system, _ in DATA_CASES}, sorted(found)
    for system, statement in DATA_CASES:
        (hop,) = found[system]["evidence"]["path"]
        assert statement in hop, hop
        # Both halves are in the evidence: the resource statement AND the identity policy that must allow too.
        assert f"policy sends (inline:{partner}:sends) statement 0 allows" in hop
        assert found[system]["evidence"]["conditional"] is False
    assert "principal arn:aws:iam::444400000004:root" in found["enrich"]["evidence"]["path"][0]  # the account
    # partner-idle is named by the queue and topic policies but no policy of its own allows: no reach.
    assert forbidden(report, arn("role", AGENT, "partner-idle")) == {}


def test_recorded_default_topic_policy_lets_no_role_in(tmp_path):
    """fixtures/aws/resource-policies/sns-get-topic-attributes.json (SNS's default policy: `*` when AWS:SourceOwner
    is the owner) through `--import`: a role without identity policies reaches the topic only once a statement of
    the topic policy names it."""
    topic = "arn:aws:sns:us-east-1:111111111111:alerts"
    batch = "arn:aws:iam::111111111111:role/batch-reader"  # GAAD_A's role without any policy
    policy = (f'version: 1\nsystems:\n  alerts:\n    resources: ["{topic}"]\nintegrations:\n  - name: batch\n'
              f'    identities: ["{batch}"]\n    may_reach: []\n    must_not_reach: [alerts]\n')
    recorded = json.loads((RP / "sns-get-topic-attributes.json").read_text())
    code, report, out = scan_imports(tmp_path, *imports(tmp_path, (None, GAAD_A), (None, recorded)), policy=policy)
    assert code == 0, out
    assert hits(report, "scope-forbidden-system", batch) == []  # AWS:SourceOwner is never in its requests
    document = json.loads(recorded["Attributes"]["Policy"])
    document["Statement"].append({"Sid": "BatchPublishes", "Effect": "Allow", "Principal": {"AWS": batch},
                                  "Action": "SNS:Publish", "Resource": topic})
    recorded["Attributes"]["Policy"] = json.dumps(document)
    code, report, out = scan_imports(tmp_path, *imports(tmp_path, (None, GAAD_A), (None, recorded)), policy=policy)
    assert code == 0, out
    [finding] = hits(report, "scope-forbidden-system", batch)
    (hop,) = finding["evidence"]["path"]
    assert f'topic policy of {topic}, statement 1 "BatchPublishes" allows SNS:Publish' in hop
    assert "__default_statement_ID" not in hop and finding["evidence"]["conditional"] is False
