"""The AWS organisation an account belongs to, from `organizations:ListAccounts` entries (live `--aws-org`
and the `aws organizations list-accounts` import): it decides `aws:PrincipalOrgID` conditions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# arn:aws:organizations::MANAGEMENT:account/o-exampleorgid/ACCOUNT (AWS: o- and 10 to 32 lower-case letters
# or digits). Bounded and without nested repetition: linear on any input.
_ORG_IN_ACCOUNT_ARN = re.compile(r"arn:[a-z-]{1,32}:organizations::\d{12}:account/(o-[a-z0-9]{10,32})/(\d{12})")


def organization_of(account: Mapping[str, Any]) -> str | None:
    """The organisation id in a ListAccounts entry's Arn, when the Arn names that entry's own account
    (None otherwise)."""
    match = _ORG_IN_ACCOUNT_ARN.fullmatch(str(account.get("Arn", "")))
    return match.group(1) if match and match.group(2) == str(account.get("Id", "")) else None
