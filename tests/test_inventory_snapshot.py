"""Snapshot: lossless round trip, merge of several accounts, clear errors on bad files."""

from __future__ import annotations

import json

import pytest

from nhiaudit.errors import InputError
from nhiaudit.inventory.snapshot import SNAPSHOT_SCHEMA_VERSION, Snapshot, load_snapshot, merge_snapshots

DEMO = "examples/demo/snapshot.json"


def test_round_trip_is_lossless(tmp_path):
    original = load_snapshot(__import__("pathlib").Path(DEMO))
    path = tmp_path / "copy.json"
    original.write(path)
    again = load_snapshot(path)
    assert again == original
    assert again.schema_version == SNAPSHOT_SCHEMA_VERSION
    assert {i.provider.value for i in again.identities} == {"aws", "gcp", "azure"}


def test_merge_dedupes_shared_records_and_keeps_issues():
    demo = load_snapshot(__import__("pathlib").Path(DEMO))
    aws = demo.model_copy(update={"identities": [i for i in demo.identities if i.provider == "aws"]})
    gcp = demo.model_copy(update={"identities": [i for i in demo.identities if i.provider != "aws"],
                                  "collection_issues": []})
    merged = merge_snapshots([aws, gcp])
    assert len(merged.identities) == len(demo.identities)
    assert len(merged.policies) == len(demo.policies)  # same ids in both parts: kept once


def test_bad_snapshot_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 1, "identities": [{"id": "x"}]}))
    with pytest.raises(InputError) as exc:
        load_snapshot(bad)
    assert "bad.json" in str(exc.value) and "identities[0]" in str(exc.value)


def test_future_schema_version_is_refused(tmp_path):
    path = tmp_path / "future.json"
    path.write_text(Snapshot(schema_version=99).to_json())
    with pytest.raises(InputError, match="schema_version 99"):
        load_snapshot(path)


def test_missing_snapshot(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_snapshot(tmp_path / "nope.json")
