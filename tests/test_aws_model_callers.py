"""Workloads that call models as an IAM role, live (moto through the real CLI; EKS Pod Identity replayed from
recorded responses, which moto does not implement) and imported from the AWS CLI's outputs: Bedrock knowledge
bases, SageMaker endpoints (endpoint -> config -> model), EKS service accounts (IRSA from the trust policy,
Pod Identity associations). The undeclared role behind each one is shadow AI with the workload named, and
`explain` lists the workloads under "who calls the model" with the role's longest session."""

from __future__ import annotations

import json
import shutil

import pytest
from aws_support import (  # noqa: F401
    FIXTURES,
    MOTO_ACCOUNT,
    POD_DESCRIBE,
    POD_LIST,
    Moto,
    Response,
    _iso,
    aws_env,
    export_like_cli,
    moto,
    replay_pod_identity,
    role_arn,
    scan_json,
)
from typer.testing import CliRunner

from nhiaudit.cli import build_app
from nhiaudit.connectors.aws.account import CALL_FAILURES
from nhiaudit.connectors.aws.workloads_eks import (
    get_pod_identity_associations,
    transform_irsa,
    transform_pod_identity_associations,
)
from nhiaudit.connectors.aws.workloads_sagemaker import get_endpoints, transform_endpoints
from nhiaudit.inventory.model import Provider, Trust, TrustKind
from nhiaudit.inventory.snapshot import load_snapshot

REGION = ["--aws-regions", "us-east-1"]
INVOKE = [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/5C3F0A1B2D4E6F708192A3B4C5D6E7F8"
PROVIDER = f"arn:aws:iam::{MOTO_ACCOUNT}:oidc-provider/{ISSUER}"
role = role_arn


def _irsa(sub: str, operator: str = "StringEquals") -> dict:
    return {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": PROVIDER},
            "Condition": {operator: {f"{ISSUER}:sub": sub, f"{ISSUER}:aud": "sts.amazonaws.com"}}}


def _service(name: str) -> dict:
    return {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Principal": {"Service": name}}


TRUSTS = {
    "kb-role": _service("bedrock.amazonaws.com"),
    "endpoint-role": _service("sagemaker.amazonaws.com"),
    "irsa-role": _irsa("system:serviceaccount:ml:inference"),
    "irsa-any": _irsa("system:serviceaccount:*", "StringLike"),
    "pod-role": _service("pods.eks.amazonaws.com"),
}
EXPECTED = {
    role("kb-role"): ["bedrock_knowledge_base:docs-kb"],
    role("endpoint-role"): ["sagemaker_endpoint:summarize-a", "sagemaker_endpoint:summarize-b"],
    role("irsa-role"): ["eks_service_account:ml/inference"],
    role("irsa-any"): ["eks_service_account:*/*"],
    role("pod-role"): ["eks_pod_identity:ml/agent"],
}


@pytest.fixture(scope="module")
def estate(moto: Moto) -> dict[str, str]:  # noqa: F811
    """Seeds the estate; returns the knowledge base's id."""
    moto.reset()
    iam = moto.client("iam")
    for name, statement in TRUSTS.items():
        iam.create_role(RoleName=name, MaxSessionDuration=43200 if name == "endpoint-role" else 3600,
                        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
        iam.put_role_policy(RoleName=name, PolicyName="invoke",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": INVOKE}))
    kb = moto.client("bedrock-agent").create_knowledge_base(
        name="docs-kb", roleArn=role("kb-role"),
        knowledgeBaseConfiguration={"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {
            "embeddingModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v1"}},
        storageConfiguration={"type": "OPENSEARCH_SERVERLESS", "opensearchServerlessConfiguration": {
            "collectionArn": f"arn:aws:aoss:us-east-1:{MOTO_ACCOUNT}:collection/docs", "vectorIndexName": "docs",
            "fieldMapping": {"vectorField": "v", "textField": "t", "metadataField": "m"}}})
    sagemaker = moto.client("sagemaker")
    sagemaker.create_model(ModelName="summarizer", ExecutionRoleArn=role("endpoint-role"),
                           PrimaryContainer={"Image": f"{MOTO_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/sum:1"})
    sagemaker.create_endpoint_config(EndpointConfigName="summarizer-config", ProductionVariants=[
        {"VariantName": "main", "ModelName": "summarizer", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    for name in ("summarize-a", "summarize-b"):  # one config and one model behind both: each is read once
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="summarizer-config")
    moto.client("eks").create_cluster(name="ml-cluster", roleArn=role("pod-role"), resourcesVpcConfig={})
    return {"kb_id": kb["knowledgeBase"]["knowledgeBaseId"]}


def cli(*args: str):
    return CliRunner().invoke(build_app(), list(args))


def undeclared(report: dict) -> dict[str, list[str]]:
    return {f["identity"]["id"]: sorted(f["evidence"]["workloads"]) for f in report["findings"]
            if f["rule_id"] == "ai-undeclared"}


def test_live_scan_names_every_workload_behind_an_undeclared_role(estate, aws_env, tmp_path):  # noqa: F811
    replay_pod_identity(aws_env.front)
    code, report = scan_json(tmp_path, "--aws", *REGION)
    assert code == 0 and report["collection"]["complete"]
    assert undeclared(report) == EXPECTED
    unconstrained = {f["identity"]["name"] for f in report["findings"]
                     if f["rule_id"] == "trust-federated-unconstrained"}
    assert unconstrained == {"irsa-any"}  # the pinned service account is not reported
    sent = aws_env.front.operations()
    counts = {op: sent.count(op) for op in (
        "bedrock:ListKnowledgeBases", "bedrock:GetKnowledgeBase", "sagemaker:ListEndpoints",
        "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel",
        "eks:ListClusters", "eks:ListPodIdentityAssociations", "eks:DescribePodIdentityAssociation")}
    # One describe per endpoint; the shared config and model once each; one association listing per cluster.
    assert counts == {"bedrock:ListKnowledgeBases": 1, "bedrock:GetKnowledgeBase": 1, "sagemaker:ListEndpoints": 1,
                      "sagemaker:DescribeEndpoint": 2, "sagemaker:DescribeEndpointConfig": 1,
                      "sagemaker:DescribeModel": 1, "eks:ListClusters": 1, "eks:ListPodIdentityAssociations": 1,
                      "eks:DescribePodIdentityAssociation": 1}


def test_explain_shows_who_calls_the_model_and_the_session_length(estate, aws_env, tmp_path):  # noqa: F811
    replay_pod_identity(aws_env.front)
    out = tmp_path / "snap.json"
    assert cli("collect", "--aws", *REGION, "-o", str(out)).exit_code == 0
    (tmp_path / "policy.yaml").write_text("version: 1\nintegrations: []\n")
    base = ("explain", role("endpoint-role"), "--snapshot", str(out), "--policy", str(tmp_path / "policy.yaml"))
    result = cli(*base, "--format", "json")
    assert result.exit_code == 0, result.output
    (path,) = json.loads(result.stdout)["paths"]
    assert path["identity"]["max_session_seconds"] == 43200
    assert [(w["kind"], w["name"], w["region"]) for w in path["model_callers"]] == [
        ("sagemaker_endpoint", "summarize-a", "us-east-1"), ("sagemaker_endpoint", "summarize-b", "us-east-1")]
    table = cli(*base).stdout
    assert "who calls the model:" in table and "sagemaker_endpoint summarize-a us-east-1" in table
    assert "max session: 43200 s (12 h)" in table
    markdown = cli(*base, "--format", "markdown").stdout
    assert "**Who calls the model:**" in markdown and r"| sagemaker\_endpoint | `summarize-b` | us-east-1 |" in markdown
    # The Pod Identity role: its association calls the model; the trust names the EKS service.
    pods = json.loads(cli("explain", role("pod-role"), "--snapshot", str(out), "--format", "json").stdout)
    assert pods["paths"][0]["model_callers"] and pods["paths"][0]["identity"]["max_session_seconds"] == 3600
    assert any(a["principal"] == "pods.eks.amazonaws.com" for a in pods["paths"][0]["identity"]["acted_as_by"])


def _write(path, reply: dict) -> object:
    reply = dict(reply)
    reply.pop("ResponseMetadata", None)
    path.write_text(json.dumps(reply, default=_iso, indent=2))
    return path


def cli_exports(moto: Moto, estate: dict[str, str], folder) -> list:  # noqa: F811
    """What the AWS CLI prints for the estate's describes and listings."""
    kb, sm = moto.client("bedrock-agent"), moto.client("sagemaker")
    files = export_like_cli(moto, folder)
    files += [_write(folder / "kb.json", kb.get_knowledge_base(knowledgeBaseId=estate["kb_id"])),
              _write(folder / "kbs.json", kb.list_knowledge_bases()),
              _write(folder / "endpoints.json", sm.list_endpoints()),
              _write(folder / "config.json", sm.describe_endpoint_config(EndpointConfigName="summarizer-config")),
              _write(folder / "model.json", sm.describe_model(ModelName="summarizer"))]
    files += [_write(folder / f"{n}.json", sm.describe_endpoint(EndpointName=n))
              for n in ("summarize-a", "summarize-b")]
    for name in (POD_LIST, POD_DESCRIBE):
        files.append(shutil.copy(FIXTURES / name, folder / name))
    return files


def test_import_of_cli_outputs_gives_the_same_findings_and_kinds(estate, moto, aws_env, tmp_path):  # noqa: F811
    replay_pod_identity(aws_env.front)
    (tmp_path / "live").mkdir()
    _, live = scan_json(tmp_path / "live", "--aws", *REGION)
    files = cli_exports(moto, estate, tmp_path / "exports")
    code, imported = scan_json(tmp_path, *[a for f in files for a in ("--import", str(f))])

    def keyed(report: dict) -> set[tuple]:
        return {(f["rule_id"], f["identity"]["id"], tuple(sorted(f["evidence"].get("workloads") or ())))
                for f in report["findings"] if f.get("identity")}

    assert code == 0 and keyed(imported) == keyed(live) and undeclared(imported) == EXPECTED
    out = tmp_path / "snap.json"
    assert cli("collect", *[a for f in files for a in ("--import", str(f))], "-o", str(out)).exit_code == 0
    assert {"bedrock_knowledge_base", "eks_pod_identity", "eks_service_account", "sagemaker_endpoint"} <= set(
        load_snapshot(out).sources[0].collected)


def test_import_without_a_listed_describe_is_incomplete(estate, moto, tmp_path):  # noqa: F811
    files = [f for f in cli_exports(moto, estate, tmp_path / "exports")
             if f.name not in ("model.json", "summarize-b.json", POD_DESCRIBE)]
    out = tmp_path / "snap.json"
    result = cli("collect", *[a for f in files for a in ("--import", str(f))], "-o", str(out))
    assert result.exit_code == 3, result.output
    snap = load_snapshot(out)
    issues = {(i.operation, i.message) for i in snap.collection_issues}
    assert ("sagemaker:DescribeModel", "not imported: endpoint summarize-a: describe-model of summarizer") in issues
    assert any(op == "sagemaker:DescribeEndpoint" and "summarize-b" in m for op, m in issues)
    assert any(op == "eks:DescribePodIdentityAssociation" and "a-0agentassoc00001" in m for op, m in issues)
    collected = set(snap.sources[0].collected)
    assert "bedrock_knowledge_base" in collected and not collected & {"sagemaker_endpoint", "eks_pod_identity"}


def test_denied_describe_model_is_one_issue_and_keeps_the_rest(estate, aws_env, tmp_path):  # noqa: F811
    replay_pod_identity(aws_env.front)
    aws_env.front.deny("sagemaker:DescribeModel")
    out = tmp_path / "snap.json"
    result = cli("collect", "--aws", *REGION, "-o", str(out))
    assert result.exit_code == 3 and "sagemaker:DescribeModel" in result.stderr
    (issue,) = load_snapshot(out).collection_issues
    assert issue.operation == "sagemaker:DescribeModel" and "AccessDenied" in issue.message
    assert "2 endpoints in us-east-1: summarize-a, summarize-b" in issue.message
    assert aws_env.front.operations().count("sagemaker:DescribeModel") == 1  # the failure is cached too
    snap = load_snapshot(out)
    assert "sagemaker_endpoint" not in {w.kind for w in snap.workloads}
    collected = snap.sources[0].collected
    assert "sagemaker_endpoint" not in collected and "bedrock_knowledge_base" in collected


def test_malformed_model_reply_is_an_issue_of_describe_model(estate, aws_env, tmp_path):  # noqa: F811
    replay_pod_identity(aws_env.front)
    body = json.dumps({"ModelArn": f"arn:aws:sagemaker:us-east-1:{MOTO_ACCOUNT}:model/summarizer",
                       "ModelName": "summarizer", "ExecutionRoleArn": {"Fn::GetAtt": "x"}}).encode()
    aws_env.front.replay("sagemaker:DescribeModel", lambda _: Response(200, body, "application/x-amz-json-1.1"))
    out = tmp_path / "snap.json"
    assert cli("collect", "--aws", *REGION, "-o", str(out)).exit_code == 3
    (issue,) = load_snapshot(out).collection_issues
    assert issue.operation == "sagemaker:DescribeModel" and "ExecutionRoleArn" in issue.message


def test_denied_association_listing_names_the_cluster(estate, aws_env, tmp_path):  # noqa: F811
    aws_env.front.deny("eks:ListPodIdentityAssociations")
    out = tmp_path / "snap.json"
    assert cli("collect", "--aws", *REGION, "-o", str(out)).exit_code == 3
    (issue,) = load_snapshot(out).collection_issues
    assert issue.operation == "eks:ListPodIdentityAssociations"
    assert "(1 pod identity associations in us-east-1: those of cluster ml-cluster)" in issue.message
    assert "eks_pod_identity" not in load_snapshot(out).sources[0].collected


def test_endpoints_and_clusters_beyond_the_bound_are_a_truncation(estate, moto):  # noqa: F811
    listing = get_endpoints(moto.client("sagemaker"), CALL_FAILURES, limit=1)
    assert [d["Endpoint"]["EndpointName"] for d in listing.definitions] == ["summarize-a"]
    assert listing.left_out == 1
    clusters = get_pod_identity_associations(moto.client("eks"), CALL_FAILURES, cluster_limit=0)
    assert clusters.definitions == () and clusters.truncated == ("1 clusters beyond the first 0 were not read",)


def _trust(conditions: dict, principal: str = PROVIDER) -> Trust:
    return Trust(identity_id=role("r"), principal=principal, kind=TrustKind.FEDERATED, conditions=conditions)


@pytest.mark.parametrize("conditions, names", [
    ({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:ml:agent"}}, ["ml/agent"]),
    ({"StringLike": {f"{ISSUER.upper()}:SUB": ["system:serviceaccount:ml:*", "system:serviceaccount:b:x"]}},
     ["b/x", "ml/*"]),  # condition keys are case-insensitive
    ({"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}, ["*/*"]),  # no subject: any service account
    ({"StringNotEquals": {f"{ISSUER}:sub": "system:serviceaccount:kube-system:x"}}, ["*/*"]),  # pins nothing
    ({"ForAnyValue:StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*"}}, ["*/*"]),
])
def test_irsa_subjects_become_service_account_workloads(conditions, names):
    workloads = transform_irsa([_trust(conditions)])
    assert [w.name for w in workloads] == names
    assert {(w.kind, w.region, w.account, w.provider) for w in workloads} == {
        ("eks_service_account", "us-east-1", MOTO_ACCOUNT, Provider.AWS)}


def test_other_federations_are_not_eks_workloads():
    github = "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"
    assert transform_irsa([_trust({}, github), _trust({}, "oidc.eks.us-east-1.amazonaws.com/id/X")]) == []


@pytest.mark.parametrize("content, message", [
    ({"association": {"associationArn": "arn:aws:eks:us-east-1:1:podidentityassociation/c/a", "associationId": "a",
                      "clusterName": "c", "namespace": "n", "serviceAccount": "s", "roleArn": "pod-role"}},
     "not an ARN"),
    ({"association": []}, "a pod identity association object"),
    ({"knowledgeBase": {"knowledgeBaseArn": "arn:aws:bedrock:us-east-1:1:knowledge-base/K", "knowledgeBaseId": "K",
                        "name": 3}}, "expected a string"),
    ({"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/c", "EndpointConfigName": "c",
      "ProductionVariants": "main"}, "expected"),
    ({"ModelArn": "arn:aws:sagemaker:us-east-1:1:model/m", "ModelName": "m", "ExecutionRoleArn": {"Ref": "x"}},
     "expected a string"),
])
def test_hostile_exports_are_input_errors(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(content))
    result = cli("collect", "--import", str(path), "-o", str(tmp_path / "snap.json"))
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "snap.json").exists()


def test_a_listing_without_an_account_needs_one_account(tmp_path):
    path = tmp_path / "kbs.json"
    path.write_text(json.dumps({"knowledgeBaseSummaries": [{"knowledgeBaseId": "K", "name": "k"}]}))
    result = cli("collect", "--import", str(path), "-o", str(tmp_path / "snap.json"))
    assert result.exit_code == 2 and "one account's files at a time" in result.stderr, result.output


def test_an_endpoint_serving_models_of_several_roles_is_one_workload_per_role():
    arn = f"arn:aws:sagemaker:eu-west-1:{MOTO_ACCOUNT}:endpoint/multi"
    config = {"EndpointConfigName": "c", "ExecutionRoleArn": role("inference-components"),
              "ProductionVariants": [{"VariantName": "a", "ModelName": "m1"}, {"VariantName": "b", "ModelName": "m2"}],
              "ShadowProductionVariants": [{"VariantName": "s", "ModelName": "m3"}]}
    models = [{"ModelName": "m1", "ExecutionRoleArn": role("r1")}, {"ModelName": "m2", "ExecutionRoleArn": role("r1")},
              {"ModelName": "m3", "ExecutionRoleArn": role("r3")}]
    workloads = transform_endpoints([{"Endpoint": {"EndpointArn": arn, "EndpointName": "multi"},
                                      "EndpointConfig": config, "Models": models}])
    assert [(w.id, w.identity_id, w.region) for w in workloads] == [
        (arn, role("inference-components"), "eu-west-1"), (f"{arn}#model/m1", role("r1"), "eu-west-1"),
        (f"{arn}#model/m3", role("r3"), "eu-west-1")]


def test_a_cross_account_pod_identity_also_runs_as_its_target_role():
    association = json.loads((FIXTURES / POD_DESCRIBE).read_text())["association"]
    association["targetRoleArn"] = role("bedrock-caller", "210000000001")
    workloads = transform_pod_identity_associations([association])
    assert [(w.id.rsplit("/", 1)[-1], w.identity_id, w.name) for w in workloads] == [
        ("a-0agentassoc00001", role("pod-role"), "ml/agent"),
        ("a-0agentassoc00001#target", role("bedrock-caller", "210000000001"), "ml/agent")]
