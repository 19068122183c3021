"""What analysis knows of the audit settings: the snapshot's AuditLogSetting records by (provider, account),
which kinds each source read completely, and the verdict shape every provider's assessment returns."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from nhiaudit.facts.audit_selectors import Verdict
from nhiaudit.facts.context import FactContext
from nhiaudit.facts.memo import memo
from nhiaudit.inventory.audit_model import AuditKind, AuditLogSetting

MODEL_INVOCATIONS, SECRET_ACCESS, DATA_ACCESS = "model_invocations", "secret_access", "data_access"


@dataclass(frozen=True)
class Assessment:
    """One kind of access of one identity: recorded (True), not (False) or unknown (None), and where."""

    kind: str
    verdict: Verdict
    detail: str
    where: tuple[str, ...] = ()  # trails / logging configurations that record it
    missing: tuple[str, ...] = ()  # regions / event sources / resource patterns not recorded
    account: str = ""
    system: str = ""
    checked: tuple[str, ...] = ()  # every setting considered


@dataclass
class AuditIndex:
    by_account: dict[tuple[str, str], list[AuditLogSetting]] = field(default_factory=lambda: defaultdict(list))
    complete: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    def settings(self, provider: str, account: str, kind: AuditKind) -> list[AuditLogSetting]:
        return [s for s in self.by_account.get((provider, account), ()) if s.kind is kind]

    def read_completely(self, provider: str, account: str, kind: AuditKind) -> bool:
        return kind.value in self.complete.get((provider, account), ())


def audit_index(ctx: FactContext) -> AuditIndex:
    def build() -> AuditIndex:
        index = AuditIndex()
        for s in sorted(ctx.estate.snapshot.audit_settings, key=lambda x: (x.kind.value, x.id)):
            index.by_account[(s.provider.value, s.account)].append(s)
        for src in ctx.estate.snapshot.sources:
            index.complete[(src.provider.value, src.account)].update(src.audit_collected)
        return index
    return memo(ctx, "audit_index", build)
