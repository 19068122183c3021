"""Credential limits for a drafted policy, from the estate's current worst case, never looser than the
built-in defaults: the draft describes today's access, not today's credential hygiene, so every
credential finding a scan with the built-in limits reports is still reported."""

from __future__ import annotations

from datetime import datetime

from nhiaudit.drafting.model import DraftSetting
from nhiaudit.facts.context import days_between
from nhiaudit.facts.credential import is_active, is_static
from nhiaudit.inventory.model import Credential, Identity, IdentityKind
from nhiaudit.policy.model import BUILTIN_CREDENTIAL_RULES


def _round_up(days: int, step: int) -> int:
    return max(step, -(-days // step) * step)


def _worst(values: list[tuple[int, str]]) -> tuple[int, str] | None:
    return max(values, key=lambda v: (v[0], v[1])) if values else None


def default_credentials(identities: dict[str, Identity], credentials: list[Credential],
                        now: datetime) -> list[DraftSetting]:
    """`defaults.credentials`: the worst case seen, rounded up, capped at the built-in value."""
    builtin = BUILTIN_CREDENTIAL_RULES
    ages: list[tuple[int, str]] = []
    idle: list[tuple[int, str]] = []
    active = []
    for cred in credentials:
        owner = identities.get(cred.identity_id)
        if not is_active(cred, owner):
            continue
        active.append(cred)
        who = f"{cred.id} of {owner.name if owner else cred.identity_id}"
        if is_static(cred) and cred.created is not None:
            ages.append((days_between(now, cred.created) or 0, who))
        since = cred.last_used or cred.created
        if since is not None:
            idle.append((days_between(now, since) or 0, who))
    settings = []
    settings.append(_limited("max_age_days", _worst(ages), 30, builtin.max_age_days or 90,
                             "oldest active static credential"))
    settings.append(_limited("max_unused_days", _worst(idle), 7, builtin.max_unused_days or 30,
                             "longest unused active credential"))
    settings.append(DraftSetting("grace_days", builtin.grace_days or 7, "built-in value"))
    settings.append(DraftSetting("static_keys", "allowed",
                                 "undeclared identities keep keys; integrations without one forbid them below"))
    every_expires = bool(active) and all(c.expires is not None for c in active)
    settings.append(DraftSetting(
        "require_expiry", every_expires,
        "every active credential has an expiry today" if every_expires
        else "some active credentials have no expiry (AWS access keys never do)"))
    return settings


def _limited(key: str, worst: tuple[int, str] | None, step: int, builtin: int, what: str) -> DraftSetting:
    if worst is None:
        return DraftSetting(key, builtin, f"built-in value (no {what.split(' ', 1)[1]} seen)")
    days, who = worst
    value = min(builtin, _round_up(days, step))
    note = "" if value >= _round_up(days, step) else f"; built-in {builtin} kept, so it is still reported"
    return DraftSetting(key, value, f"{what}: {days} days ({who}){note}")


def session_minutes(identities: list[Identity]) -> tuple[int, str] | None:
    """The longest role session its AWS roles allow today (MaxSessionDuration), in whole hours."""
    worst: tuple[int, str] | None = None
    for identity in identities:
        text = identity.attributes.get("max_session_seconds")
        if identity.kind is not IdentityKind.ROLE or text is None or not text.isdigit():
            continue
        minutes = _round_up(-(-int(text) // 60), 60)
        if worst is None or minutes > worst[0]:
            worst = (minutes, identity.name)
    return worst
