"""One canonical form for GCP resource names, so a system written either way matches a grant.

GCP APIs name the same resource differently: Cloud Asset calls a bucket `//storage.googleapis.com/B`, IAM
conditions `projects/_/buckets/B`, the Storage API `b/B`; Resource Manager calls a project
`//cloudresourcemanager.googleapis.com/projects/P` or `projects/P`. The canonical forms are:

- scopes (where bindings are set and what contains everything below): `projects/P`, `folders/N`,
  `organizations/N` (no service host);
- any other resource: its full resource name `//SERVICE.googleapis.com/PATH`, with buckets as
  `//storage.googleapis.com/projects/_/buckets/B`;
- a relative name without host (`projects/_/buckets/B`, `projects/P/datasets/D`) gets the host of the
  service it belongs to where the first collection names it (buckets -> storage), else stays as written.

Patterns (in the written policy) go through the same function; `*` and `**` are kept as they are.
"""

from __future__ import annotations

_CRM = "//cloudresourcemanager.googleapis.com/"
_STORAGE = "//storage.googleapis.com/"
_SCOPES = ("projects/", "folders/", "organizations/")


def canonical_resource(name: str) -> str:
    """The canonical form of a GCP resource name or pattern (see the module docstring)."""
    if name.startswith(_CRM):
        return name[len(_CRM):]
    if name.startswith(_STORAGE):
        rest = name[len(_STORAGE):]
        if rest.startswith("projects/_/buckets/"):
            return name
        if rest.startswith("b/"):  # the JSON API's form
            rest = rest[2:]
        return f"{_STORAGE}projects/_/buckets/{rest}"
    if name.startswith("projects/_/buckets/"):
        return _STORAGE + name
    return name


def is_scope(name: str) -> bool:
    """A project, folder or organization (the containers bindings inherit from)."""
    canonical = canonical_resource(name)
    return canonical.startswith(_SCOPES) and canonical.count("/") == 1
