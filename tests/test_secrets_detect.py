"""The credential detector: the shapes it finds, what a hit keeps (never the value), and its cost on hostile
text (linear: no pattern backtracks)."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from nhiaudit.secrets.detect import (
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    AZURE_CLIENT_SECRET,
    GCP_SERVICE_ACCOUNT_KEY,
    scan_text,
    value_hash,
)

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARY0001"  # 40 characters, the shape of a secret access key
ENTRA_SECRET = "abc8Q~CANARYvalue.of_the-secret~0123456789"[:40]
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT_ID = "99999999-8888-7777-6666-555555555555"
GCP_KEY_ID = "0123456789abcdef0123456789abcdef01234567"
GCP_KEY_FILE = f"""{{
  "type": "service_account",
  "project_id": "acme-ml",
  "private_key_id": "{GCP_KEY_ID}",
  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQCANARYPRIVATEKEYMATERIAL\\n-----END PRIVATE KEY-----\\n",
  "client_email": "batch-scorer@acme-ml.iam.gserviceaccount.com",
  "client_id": "1234567890"
}}
"""


def test_aws_key_id_with_its_secret_next_to_it():
    text = f"[default]\naws_access_key_id = AKIAEXAMPLELEGACY001\naws_secret_access_key = {AWS_SECRET}\n"
    (hit,) = scan_text(text)
    assert (hit.detector, hit.line, hit.key_id, hit.secret_nearby) == (AWS_ACCESS_KEY_ID, 2, "AKIAEXAMPLELEGACY001",
                                                                       True)
    assert AWS_SECRET not in repr(hit) and hit.value_hash is None


def test_aws_key_id_alone_and_a_lone_secret_by_hash():
    hits = scan_text("key: ASIAEXAMPLESESSION01\n" + "\n" * 30 + f'SecretAccessKey: "{AWS_SECRET}"\n')
    assert [(h.detector, h.line) for h in hits] == [(AWS_ACCESS_KEY_ID, 1), (AWS_SECRET_ACCESS_KEY, 32)]
    assert hits[0].secret_nearby is False
    assert hits[1].value_hash == value_hash(AWS_SECRET) and len(hits[1].value_hash) == len("sha256:") + 12


def test_not_key_ids():
    assert scan_text("AKIAEXAMPLE  XAKIAEXAMPLELEGACY001 AKIAEXAMPLELEGACY0011 akiaexamplelegacy001") == []


def test_gcp_key_file_names_its_key_and_account():
    (hit,) = scan_text(GCP_KEY_FILE)
    assert (hit.detector, hit.line, hit.key_id) == (GCP_SERVICE_ACCOUNT_KEY, 4, GCP_KEY_ID)
    assert hit.principal == "batch-scorer@acme-ml.iam.gserviceaccount.com" and hit.secret_nearby
    assert "CANARY" not in repr(hit)


def test_gcp_key_file_escaped_in_a_string():
    escaped = GCP_KEY_FILE.replace('"', '\\"').replace("\n", " ")
    (hit,) = scan_text(f'GOOGLE_CREDENTIALS="{escaped}"')
    assert hit.key_id == GCP_KEY_ID and hit.principal.startswith("batch-scorer@")


def test_private_key_id_alone_is_not_a_key_file():
    assert scan_text(f'"private_key_id": "{GCP_KEY_ID}"') == []


def test_entra_secret_with_client_and_tenant_ids():
    text = f"AZURE_TENANT_ID={TENANT_ID}\nAZURE_CLIENT_ID={CLIENT_ID}\nAZURE_CLIENT_SECRET={ENTRA_SECRET}\n"
    (hit,) = scan_text(text)
    assert (hit.detector, hit.line, hit.hint) == (AZURE_CLIENT_SECRET, 3, "abc")
    assert (hit.principal, hit.tenant) == (CLIENT_ID, TENANT_ID)
    assert hit.value_hash == value_hash(ENTRA_SECRET) and ENTRA_SECRET not in repr(hit)


def test_older_client_secret_by_its_assignment():
    (hit,) = scan_text('client_secret: "Zx9-4kPq_Rt7LmN2vB8cWd"\nclient_id: ' + CLIENT_ID)
    assert hit.detector == AZURE_CLIENT_SECRET and hit.hint is None and hit.principal == CLIENT_ID


def test_references_and_placeholders_are_not_secrets():
    text = "\n".join([
        "client_secret = os.environ['AZURE_CLIENT_SECRET']",
        "AZURE_CLIENT_SECRET=${AZURE_CLIENT_SECRET}",
        "client_secret: <your-client-secret>",
        "clientSecret: changeme",
        "client_secret = get_secret_from_vault_by_name",
        "aws_secret_access_key = {{ secret }}",
    ])
    assert scan_text(text) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="AKIASQ~0123456789abcdef-_=:\"' \n\\/+client_secretprivate_key_id", max_size=400),
       st.sampled_from([AWS_SECRET, ENTRA_SECRET]))
def test_hits_never_hold_a_value(noise: str, secret: str):
    text = f"{noise}\naws_secret_access_key={secret}\nAZURE_CLIENT_SECRET={secret}\n{noise}"
    for hit in scan_text(text):
        assert secret not in repr(hit) and secret[4:] not in repr(hit)


HOSTILE = [
    "AKIA" * 50_000,  # key id prefixes without end
    "A" * 200_000,
    "client_secret=" * 20_000,
    "client_secret=" + "a" * 200_000,
    '\\"private_key_id\\": \\"' * 10_000 + "private_key_id",
    "abc1Q~" * 40_000,
    "\n".join(["AKIAEXAMPLELEGACY001", "aws_secret_access_key=" + AWS_SECRET] * 5_000),
    "client_id=" + CLIENT_ID + "\n" + ("AZURE_CLIENT_SECRET=" + ENTRA_SECRET + "\n") * 5_000,
]


def _seconds(text: str, runs: int = 1) -> float:
    """The fastest of `runs` (the machine may be busy with other work)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        scan_text(text)
        best = min(best, time.perf_counter() - start)
    return best


def test_hostile_text_costs_linear_time():
    for text in HOSTILE:
        small, large = text[: len(text) // 8], text
        t_small, t_large = max(_seconds(small, 3), 0.005), _seconds(large, 3)
        # Eight times the text: about eight times the time (quadratic would be 64).
        assert t_large < 2.0 and t_large / t_small < 24, (text[:30], t_small, t_large)


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="AKIQ~0123456789abcdef-_=:\"' \n\\/+", min_size=1, max_size=20).map(lambda s: s * 2000))
def test_random_repetitions_stay_fast(text: str):
    assert _seconds(text) < 1.0
