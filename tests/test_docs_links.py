"""Every relative link in the repository's Markdown resolves: to an existing file and, with `#anchor`, to a
heading (GitHub's anchor rules) or an HTML id in that file."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from doc_files import ROOT, anchors, github_slug, links, markdown_files


def _broken(link_target: str, source: Path) -> str | None:
    """Why the link is broken, or None. External links (scheme or host) are not followed."""
    parts = urlsplit(link_target)
    if parts.scheme or parts.netloc:
        return None
    path, fragment = unquote(parts.path), unquote(parts.fragment)
    target = (source.parent / path).resolve() if path else source
    if not target.exists():
        return "no such file"
    if ROOT not in target.parents and target != ROOT:
        return "points outside the repository"
    if fragment and target.suffix == ".md" and fragment not in anchors(target):
        return f"no heading or id #{fragment} in {target.relative_to(ROOT)}"
    return None


def test_the_docs_exist_and_have_links() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert {"README.md", "docs/architecture.md", "docs/policy.md"} <= files
    assert len([link for p in markdown_files() for link in links(p)]) > 20  # the parse really found links


def test_every_relative_link_resolves() -> None:
    broken = [
        f"{link.source.relative_to(ROOT)}:{link.line}: ({link.target}) {why}"
        for source in markdown_files()
        for link in links(source)
        if (why := _broken(link.target, source))
    ]
    assert broken == []


def test_no_link_leaves_for_an_unpublished_site() -> None:
    # nhiaudit has no website: a link to one sends a reader nowhere.
    dead = [f"{link.source.relative_to(ROOT)}:{link.line}: {link.target}" for p in markdown_files()
            for link in links(p) if "nhiaudit.dev" in link.target]
    assert dead == []


def test_anchor_rules_match_github() -> None:
    assert github_slug("Exit status") == "exit-status"
    assert github_slug("`scan` options: --fail-on") == "scan-options---fail-on"
    assert github_slug("defaults.require_expiry") == "defaultsrequire_expiry"
    assert github_slug("Docs and set-up (2026)") == "docs-and-set-up-2026"
