"""The AWS import builds its inventory records without pydantic's validation (`model_construct`, one record
per principal, key and statement of an estate: validation was a tenth of a large scan). Every field is typed by
the transform itself; this test re-validates every record built from the recorded exports and from a generated
estate, so a transform that hands over a wrong type (a string for a date, a list for a tuple) fails here."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.one_account_estate import authorization_details, credential_report  # noqa: E402
from nhiaudit.connectors.imports import import_files  # noqa: E402

FIXTURES = ROOT / "fixtures" / "aws"


def _recorded(tmp_path: Path) -> Path:
    folder = tmp_path / "recorded"
    folder.mkdir()
    for name in ("gaad-cli.json", "credential-report.csv", "list-access-keys.json"):
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def _generated(tmp_path: Path) -> Path:
    folder = tmp_path / "generated"
    folder.mkdir()
    (folder / "authorization-details.json").write_text(json.dumps(authorization_details(60, 30, 20)))
    (folder / "credential-report.csv").write_text(credential_report(60))
    return folder


@pytest.mark.parametrize("estate", [_recorded, _generated])
def test_every_imported_record_is_what_validation_would_build(tmp_path: Path, estate) -> None:
    snapshot = import_files([estate(tmp_path)])
    records = [*snapshot.identities, *snapshot.credentials, *snapshot.policies, *snapshot.trusts]
    assert len(snapshot.identities) > 5 and snapshot.credentials and snapshot.policies
    for record in records:
        valid = type(record).model_validate(record.model_dump())
        assert valid == record, record
        # Equality alone would take the text "aws" for Provider.AWS (a str enum): the types must match too.
        fields = type(record).model_fields
        assert {k: type(getattr(valid, k)) for k in fields} == {k: type(getattr(record, k)) for k in fields}, record
        for statement in getattr(record, "statements", ()):
            assert type(statement).model_validate(statement.model_dump()) == statement
