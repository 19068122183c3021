"""One canonical form for GCP resource names, so a system written either way matches a grant.

GCP APIs name the same resource differently: Cloud Asset calls a bucket `//storage.googleapis.com/B`, IAM
conditions `projects/_/buckets/B`, the Storage API `b/B`; Resource Manager calls a project
`//cloudresourcemanager.googleapis.com/projects/P` or `projects/P`. The canonical forms are:

- scopes (where bindings are set and what contains everything below): `projects/P`, `folders/N`,
  `organizations/N` (no service host);
- any other resource: its full resource name `//SERVICE.googleapis.com/PATH`, with buckets as
  `//storage.googleapis.com/projects/_/buckets/B`;
- a relative name without host (`projects/_/buckets/B`, `projects/P/datasets/D`) gets the host of the
  service it belongs to where the first collection names it (buckets -> storage), else stays as written;
  a name without host then matches that path under any service (`projects/P/datasets/D` matches
  `//bigquery.googleapis.com/projects/P/datasets/D`).

Bucket names are global, so the project part of a bucket's name is `_`. A pattern may name the bucket's
project instead (`//storage.googleapis.com/projects/acme-prod/buckets/acme-pii*`): the bucket name still
matches grants on `projects/_/buckets/...`, and the pattern then also lies beneath `projects/acme-prod`
(grants on that project, its folders and organisation reach it). Written with `_`, a bucket lies beneath
no project: only grants on the bucket itself (or conditions naming it) reach it.

Patterns (in the written policy) go through the same function; `*` and `**` are kept as they are.
"""

from __future__ import annotations

import re

_CRM = "//cloudresourcemanager.googleapis.com/"
_STORAGE = "//storage.googleapis.com/"
_SCOPES = ("projects/", "folders/", "organizations/")
_HOSTED = re.compile(r"^//([^/]+)/(.*)$", re.DOTALL)
_BUCKET = re.compile(r"^projects/([^/]+)/buckets/(.*)$", re.DOTALL)


def is_gcp_name(name: str) -> bool:
    """A GCP resource name or pattern (a scope, a relative name under one, or a full `//host/` name)."""
    return name.startswith(_SCOPES) or name.startswith("//")


def canonical_resource(name: str) -> str:
    """The canonical form of a GCP resource name or pattern (see the module docstring)."""
    if name.startswith(_CRM):
        return name[len(_CRM):]
    if name.startswith(_STORAGE):
        rest = name[len(_STORAGE):]
        if rest.startswith("projects/"):
            return name
        if rest.startswith("b/"):  # the JSON API's form
            rest = rest[2:]
        return f"{_STORAGE}projects/_/buckets/{rest}"
    if _BUCKET.match(name):
        return _STORAGE + name
    return name


def split_name(canonical: str) -> tuple[str | None, str]:
    """(service host or None, path) of a canonical name: `//bigquery.googleapis.com/projects/p/datasets/d`
    -> ("bigquery.googleapis.com", "projects/p/datasets/d"); a scope or relative name has no host."""
    m = _HOSTED.match(canonical)
    if m is None:
        return None, canonical
    return m.group(1), m.group(2)


def name_key(path: str) -> str:
    """The path compared for "same resource": a bucket's project is `_` whatever the pattern wrote."""
    m = _BUCKET.match(path)
    return f"projects/_/buckets/{m.group(2)}" if m and m.group(1) != "_" else path


def scope_of(path: str) -> str | None:
    """The project / folder / organization a path lies in (`projects/P` for `projects/P/...`), None for
    buckets written with `_` and for names outside any scope."""
    parts = path.split("/", 2)
    if len(parts) < 2 or parts[0] + "/" not in _SCOPES or parts[1] in ("", "_"):
        return None
    return f"{parts[0]}/{parts[1]}"


def is_scope(name: str) -> bool:
    """A project, folder or organization (the containers bindings inherit from)."""
    canonical = canonical_resource(name)
    return canonical.startswith(_SCOPES) and canonical.count("/") == 1


_DOMAIN_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


def is_domain_name(text: str) -> bool:
    """A DNS name such as `acme.example` (any case): what `--gcp-domain`, the policy's domains and an
    organisation's display name must be to count as the organisation's own domain."""
    return len(text) <= 253 and _DOMAIN_NAME.match(text.lower()) is not None
