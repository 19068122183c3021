"""`--secrets-in` trees: which files are read (git's ignore rules through the real `git`, a .gitignore matcher
without it), --history through `git log -p`, and hostile trees (symlink loops, huge, binary, deep, non-UTF-8,
FIFOs) that stay bounded and report what they skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nhiaudit.secrets import budget as limits
from nhiaudit.secrets.budget import Budget
from nhiaudit.secrets.gitignore import ignored, parse_gitignore
from nhiaudit.secrets.sightings import scan_trees

KEY = "AKIAEXAMPLELEGACY001"
OLD_KEY = "AKIAEXAMPLEREMOVED01"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo)}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def found(trees: list[Path], history: bool = False) -> set[tuple[str, str, int, str | None, str | None]]:
    sightings, _ = scan_trees(trees, history)
    return {(s.location_kind, s.location, s.line or 0, s.key_id, s.commit) for s in sightings}


@needs_git
def test_git_checkout_reads_tracked_and_untracked_files_but_not_ignored_ones(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "config").mkdir()
    (repo / "config" / "smtp.env").write_text(f"SMTP_HOST=mail\nAWS_ACCESS_KEY_ID={KEY}\n")
    (repo / ".gitignore").write_text("local.env\n")
    (repo / "local.env").write_text(f"AWS_ACCESS_KEY_ID={KEY}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "config")
    (repo / "notes.txt").write_text(f"\n\nkey {KEY}\n")  # untracked, not ignored: read
    assert found([repo]) == {("file", f"{repo}/config/smtp.env", 2, KEY, None),
                             ("file", f"{repo}/notes.txt", 3, KEY, None)}


@needs_git
def test_history_names_the_commit_and_line_of_a_removed_key(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "deploy.sh").write_text(f"#!/bin/sh\nexport AWS_ACCESS_KEY_ID={OLD_KEY}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "add deploy")
    added = git(repo, "rev-parse", "HEAD")
    (repo / "deploy.sh").write_text("#!/bin/sh\n# keys come from the role now\n")
    git(repo, "commit", "-qam", "remove key")
    assert found([repo]) == set()
    assert found([repo], history=True) == {("git_commit", f"{repo}/deploy.sh", 2, OLD_KEY, added)}


@needs_git
def test_history_does_not_mistake_added_lines_for_headers(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "notes.md").write_text(f"++ b/fake\n@@ -1 +99 @@\nkey {KEY}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tricky")
    (hit,) = [f for f in found([repo], history=True) if f[0] == "git_commit"]
    assert hit[1:3] == (f"{repo}/notes.md", 3)


@needs_git
def test_repository_configuration_runs_nothing(tmp_path):
    repo = make_repo(tmp_path / "repo")
    marker = tmp_path / "ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(hook))
    git(repo, "config", "diff.external", str(hook))
    git(repo, "config", "core.pager", str(hook))
    (repo / ".gitattributes").write_text("*.env diff=conv\n")
    git(repo, "config", "diff.conv.textconv", str(hook))
    (repo / "a.env").write_text(f"K={KEY}\n")
    git(repo, "add", "-A")
    git(repo, "-c", "core.fsmonitor=false", "commit", "-qm", "x")
    marker.unlink(missing_ok=True)
    assert {f[0] for f in found([repo], history=True)} == {"file", "git_commit"}
    assert not marker.exists()


def test_plain_directory_applies_gitignore_files(tmp_path):
    tree = tmp_path / "tree"
    (tree / "app" / "build").mkdir(parents=True)
    (tree / ".gitignore").write_text("# generated\n*.log\n/top-only.txt\nbuild/\n!keep.log\n")
    (tree / "app" / ".gitignore").write_text("secret-*.env\n")
    for rel in ("a.log", "keep.log", "top-only.txt", "app/top-only.txt", "app/build/x.txt", "app/secret-1.env",
                "app/ok.env", "x/y/z.cfg"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(f"k={KEY}\n")
    assert {f[1].removeprefix(f"{tree}/") for f in found([tree])} == {
        "keep.log", "app/top-only.txt", "app/ok.env", "x/y/z.cfg"}


@pytest.mark.parametrize(("pattern", "path", "is_dir", "expected"), [
    ("*.log", "a/b/c.log", False, True),
    ("/a.txt", "a.txt", False, True),
    ("/a.txt", "d/a.txt", False, False),
    ("docs/*.md", "docs/x.md", False, True),
    ("docs/*.md", "docs/sub/x.md", False, False),
    ("docs/**/x.md", "docs/x.md", False, True),
    ("docs/**/x.md", "docs/a/b/x.md", False, True),
    ("**/cache", "a/b/cache", True, True),
    ("build/", "build", False, False),
    ("build/", "src/build", True, True),
    ("?.txt", "ab.txt", False, False),
])
def test_gitignore_patterns(pattern, path, is_dir, expected):
    assert ignored(parse_gitignore(pattern, ""), path, is_dir) is expected


def test_gitignore_hostile_pattern_is_linear():
    import time

    rules = parse_gitignore("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n" * 3, "")
    start = time.perf_counter()
    assert not ignored(rules, "a" * 5000, False)
    assert time.perf_counter() - start < 1.0


def test_hostile_tree_is_bounded_and_reports_what_it_skipped(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "loop").symlink_to(tree, target_is_directory=True)  # a symlink loop: never followed
    (tree / "outside").symlink_to(tmp_path / "elsewhere.env")  # a link out of the tree: never read
    (tmp_path / "elsewhere.env").write_text(f"k={KEY}\n")
    (tree / "huge.txt").write_bytes(b"x" * (limits.MAX_FILE_BYTES + 1))
    (tree / "blob.bin").write_bytes(b"\0\1\2" + KEY.encode())
    (tree / "latin1.cfg").write_bytes(b"caf\xe9 \xff\xfe key=" + KEY.encode() + b"\n")
    os.mkfifo(tree / "pipe")  # opening it must not block
    deep = tree
    for i in range(limits.MAX_DEPTH + 5):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (deep / "deep.env").write_text(f"k={KEY}\n")
    budget = Budget()
    sightings, warnings = scan_trees([tree], False, budget)
    assert [(s.location, s.line) for s in sightings] == [(f"{tree}/latin1.cfg", 1)]
    assert budget.skipped["binary"] == 1
    assert budget.skipped[f"larger than {limits.MAX_FILE_BYTES // 1024} KiB"] == 1
    assert budget.skipped[f"deeper than {limits.MAX_DEPTH} directories"] == 1
    assert any("huge.txt" in w for w in warnings) and any("deeper than" in w for w in warnings)


def test_file_cap_and_time_budget_are_reported(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(5):
        (tree / f"f{i}.env").write_text(f"k={KEY}\n")
    monkeypatch.setattr("nhiaudit.secrets.walk.MAX_FILES", 3)
    sightings, warnings = scan_trees([tree], False)
    assert len(sightings) == 3 and any("more than 3 files" in w and "f4.env" in w for w in warnings)
    spent = Budget(seconds=0.0)
    sightings, warnings = scan_trees([tree], False, spent)
    assert sightings == [] and any("time budget spent" in w for w in warnings)
