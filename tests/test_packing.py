"""Records built without validation (packing.py) are exactly what pydantic's model_construct builds, and
packed records come back as they were."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from nhiaudit.findings import Finding
from nhiaudit.inventory.model import (
    Credential,
    CredentialType,
    HumanUse,
    Identity,
    IdentityKind,
    Policy,
    Provider,
    Statement,
)
from nhiaudit.packing import constructed, pack, unpack
from nhiaudit.report import AccessPath

WHEN = datetime(2026, 1, 2, tzinfo=UTC)
CASES = [
    (Identity, {"id": "arn:aws:iam::1:user/a", "provider": Provider.AWS, "account": "1", "kind": IdentityKind.USER,
                "name": "a"}),
    (Identity, {"id": "x", "provider": Provider.GCP, "account": "p", "kind": IdentityKind.SERVICE_ACCOUNT,
                "name": "x", "tags": {"env": "prod"}, "policy_ids": ("p1",), "created": WHEN, "unknown": 1}),
    (Statement, {"effect": "Deny", "actions": ("s3:*",), "resources": ("*",), "sid": "S"}),
    (Statement, {}),
    (Credential, {"id": "k", "identity_id": "a", "provider": Provider.AWS, "type": CredentialType.ACCESS_KEY,
                  "created": WHEN, "active": True}),
    (HumanUse, {"console_password": True, "mfa_active": False}),
    (Policy, {"id": "p", "provider": Provider.AWS, "name": "p"}),
    (AccessPath, {"integration": None, "identity": "a", "identity_name": "a", "provider": "aws"}),
]


@pytest.mark.parametrize(("model", "values"), CASES, ids=[f"{m.__name__}-{i}" for i, (m, _) in enumerate(CASES)])
def test_constructed_is_model_construct(model, values):
    mine, theirs = constructed(model, **values), model.model_construct(**values)
    assert type(mine) is model and mine.__dict__ == theirs.__dict__
    assert list(mine.__dict__) == list(theirs.__dict__)  # the model's field order
    assert mine.model_fields_set == theirs.model_fields_set
    assert mine.__pydantic_extra__ is None and mine.__pydantic_private__ is None
    for name, value in mine.__dict__.items():  # a mutable default is the record's own, as pydantic makes it
        if isinstance(value, list | dict | set) and name not in values:
            assert value is not constructed(model, **values).__dict__[name]


def test_packed_records_come_back_as_they_were():
    records = [constructed(AccessPath, **CASES[-1][1]),
               AccessPath(integration="i", identity="b", identity_name="b", provider="aws", workloads=["w"],
                          reachable_systems=[{"system": "s", "path": ["x"]}], can_invoke_ai=True)]
    back = unpack(pickle.loads(pickle.dumps(pack(AccessPath, records))))
    assert [r.model_dump() for r in back] == [r.model_dump() for r in records]
    assert [r.model_fields_set for r in back] == [r.model_fields_set for r in records]
    with pytest.raises(TypeError):
        pack(Finding, records)  # type: ignore[arg-type]
