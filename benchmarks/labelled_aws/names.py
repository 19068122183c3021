"""Realistic, unique names: people as `first.last`, workloads as `app-function`."""

from __future__ import annotations

import random

FIRST = (
    "alice", "bob", "carlos", "dana", "elena", "farid", "grace", "hiro", "ines", "jamal", "kate", "liam",
    "maria", "nikhil", "olga", "pedro", "quinn", "rosa", "sanjay", "tara", "umar", "vera", "wei", "ximena",
    "yusuf", "zoe", "amir", "beatriz", "chen", "diego", "emma", "fatima", "george", "hana", "ivan", "julia",
    "kofi", "lena", "mohammed", "nora", "oscar", "priya", "rahul", "sofia", "tomas", "uma", "victor",
    "wanjiru", "yara", "zain",
)
LAST = (
    "patel", "smith", "garcia", "kim", "nguyen", "okafor", "rossi", "silva", "tanaka", "cohen", "dubois",
    "ivanova", "johnson", "kowalski", "lopez", "martin", "novak", "obrien", "park", "reyes", "schmidt",
    "singh", "taylor", "usman", "varga", "wang", "xu", "yamamoto", "zhang", "andersen", "brown", "costa",
    "diaz", "evans", "fischer", "gupta", "hansen", "jensen", "khan", "larsen", "moreau", "nakamura",
    "olsen", "petrov", "ramos", "sato", "torres", "weber", "mendes", "haddad",
)
APPS = (
    "orders", "billing", "payments", "invoices", "search", "catalog", "inventory", "shipping", "ledger",
    "reporting", "analytics", "notifications", "ingest", "crm", "fraud", "pricing", "checkout", "media",
    "thumbnails", "dwh", "feature-store", "recommendations", "returns", "loyalty", "tickets", "geo",
)
# Words that say "software" to any reader (as in `etl-loader`, `ci-deployer`, `bi-dashboard-bot`).
FUNCTIONS = (
    "loader", "worker", "sync", "exporter", "api", "bot", "deployer", "scheduler", "runner", "uploader",
    "etl", "pipeline", "svc", "job", "importer", "backup",
)
# Plain function words: clean workloads only (their names alone do not say "software").
PLAIN_FUNCTIONS = ("consumer", "publisher", "processor", "indexer", "reader", "writer", "resizer")
TEAMS = ("platform", "data", "payments", "growth", "support", "security", "ml", "sre")


class Names:
    """Per-account allocator: IAM user and role names are unique per account and kind."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._taken: set[tuple[str, str]] = set()

    def take(self, kind: str, base: str) -> str:
        name, n = base, 1
        while (kind, name) in self._taken:
            n += 1
            name = f"{base}-{n}" if "." not in base else f"{base}{n}"
        self._taken.add((kind, name))
        return name

    def person(self) -> str:
        """`first.last` (one in ten as an e-mail address, as some organisations name IAM users); on a clash
        another pair, then a middle initial (`alice.b.patel`): never digits, which no person's name has."""
        domain = "@acme.example" if self._rng.random() < 0.1 else ""
        for _ in range(40):
            name = f"{self._rng.choice(FIRST)}.{self._rng.choice(LAST)}{domain}"
            if ("user", name) not in self._taken:
                return self.take("user", name)
        while True:
            first, last = self._rng.choice(FIRST), self._rng.choice(LAST)
            name = f"{first}.{self._rng.choice('abcdefghijklmnoprstvw')}.{last}{domain}"
            if ("user", name) not in self._taken:
                return self.take("user", name)

    def workload(self, kind: str, plain: bool = False, function: str | None = None) -> str:
        fn = function or self._rng.choice(PLAIN_FUNCTIONS if plain else FUNCTIONS)
        return self.take(kind, f"{self._rng.choice(APPS)}-{fn}")

    def fixed(self, kind: str, base: str) -> str:
        return self.take(kind, base)
