""".gitignore rules for a tree that is not a git checkout (or when git is missing).

What is supported: blank lines and `#` comments, `!` negation (the last matching rule wins), a trailing `/`
(directories only), a leading or inner `/` (anchored to the .gitignore's directory; otherwise the pattern
matches a name at any depth), `*` and `?` within one path segment and `**` across segments. Not supported:
character classes (`[abc]` is literal) and escaped trailing spaces. Matching uses `segglob`, which never
backtracks: a hostile .gitignore costs time linear in its size.
"""

from __future__ import annotations

from dataclasses import dataclass

from nhiaudit.permissions.segglob import seg_match

MAX_RULES_PER_FILE = 1000
MAX_PATTERN_CHARS = 512


@dataclass(frozen=True)
class IgnoreRule:
    base: str  # directory of the .gitignore, relative to the root, "" for the root
    pattern: str
    negated: bool
    dir_only: bool
    anchored: bool

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.base:
            if not rel.startswith(self.base + "/"):
                return False
            rel = rel[len(self.base) + 1:]
        if not self.anchored:
            return seg_match(self.pattern, rel.rsplit("/", 1)[-1])
        # `a/**/b` also matches `a/b` in git.
        return seg_match(self.pattern, rel) or ("/**/" in self.pattern and
                                                seg_match(self.pattern.replace("/**/", "/"), rel))


def parse_gitignore(text: str, base: str) -> list[IgnoreRule]:
    rules: list[IgnoreRule] = []
    for raw in text.splitlines()[:MAX_RULES_PER_FILE * 4]:
        line = raw.rstrip()
        if not line or line.startswith("#") or len(line) > MAX_PATTERN_CHARS:
            continue
        negated = line.startswith("!")
        if negated or line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        if line.startswith("**/"):  # `**/x` is `x` at any depth
            line, anchored = line[3:], "/" in line[3:]
        rules.append(IgnoreRule(base, line, negated, dir_only, anchored))
        if len(rules) >= MAX_RULES_PER_FILE:
            break
    return rules


def ignored(rules: list[IgnoreRule], rel: str, is_dir: bool) -> bool:
    """The last rule that matches decides (a negation re-includes)."""
    for rule in reversed(rules):
        if rule.matches(rel, is_dir):
            return not rule.negated
    return False
