"""Pydantic records built without validation, and packed as plain tuples to cross from a forked worker.

`constructed` is `model_construct` for the records a transform or the rules engine has already typed, at a
fraction of its cost (it resolves aliases and every default per record).

Pickling a model goes through its `__getstate__` / `__setstate__` (a dict of fields, the set of fields given,
extras and private attributes, per record): for the findings of an organisation-wide estate that was several
seconds in the parent alone. A record's field values as a tuple, and the few distinct "fields set" once, are
a third of the bytes and a fraction of the time; the records are rebuilt as they were, without validation
(they were valid when the worker built them).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Packed(Generic[M]):
    model: type[M]
    rows: list[tuple[object, ...]]  # the field values in the model's order, then the index of its fields set
    fields_sets: list[frozenset[str]]


def pack(model: type[M], records: list[M]) -> Packed[M]:
    names = tuple(model.model_fields)
    seen: dict[frozenset[str], int] = {}
    rows = []
    for record in records:
        if type(record) is not model or record.__pydantic_extra__ or record.__pydantic_private__:
            raise TypeError(f"only plain {model.__name__} records can be packed")
        given = frozenset(record.__pydantic_fields_set__)
        index = seen.setdefault(given, len(seen))
        values = record.__dict__
        rows.append((*(values[name] for name in names), index))
    return Packed(model, rows, list(seen))


def unpack(packed: Packed[M]) -> list[M]:
    names = tuple(packed.model.model_fields)
    return [unvalidated(packed.model, dict(zip(names, row[:-1], strict=True)),
                        set(packed.fields_sets[row[-1]]))  # type: ignore[index]
            for row in packed.rows]


def unvalidated(model: type[M], values: dict[str, object], fields_set: set[str]) -> M:
    """A record of `model` holding exactly `values` (every field, in the model's order), not validated:
    what `model_construct` makes, without its per-field default resolution."""
    record = model.__new__(model)
    object.__setattr__(record, "__dict__", values)
    object.__setattr__(record, "__pydantic_fields_set__", fields_set)
    object.__setattr__(record, "__pydantic_extra__", None)
    object.__setattr__(record, "__pydantic_private__", None)
    return record


_IMMUTABLE = (type(None), bool, int, float, str, bytes, frozenset)


@functools.cache
def _defaults(model: type[BaseModel]) -> tuple[dict[str, Any], tuple[tuple[str, FieldInfo], ...]] | None:
    """The model's defaults that can be shared by its records (immutable values), and the fields whose
    default is made per record (factories, mutable values: pydantic copies them). None when the model needs
    model_construct itself (aliases, a post-init hook, extra fields kept)."""
    if model.__pydantic_post_init__ or model.model_config.get("extra") == "allow" or model.__pydantic_root_model__:
        return None
    shared: dict[str, Any] = {}
    per_record: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        if info.alias is not None or info.validation_alias is not None:
            return None
        if info.is_required():
            continue
        if info.default_factory is None and (isinstance(info.default, _IMMUTABLE) or info.default == ()):
            shared[name] = info.default
        else:
            per_record.append((name, info))
    return shared, tuple(per_record)


def constructed(model: type[M], **values: Any) -> M:
    """`model.model_construct(**values)`, faster: the same record (fields in the model's order, defaults for
    the others, the given names as its fields set), without validation."""
    defaults = _defaults(model)
    if defaults is None:
        return model.model_construct(**values)
    shared, per_record = defaults
    given = set(values).intersection(model.model_fields)
    full = {**shared, **values}
    for name, info in per_record:
        if name not in values:
            full[name] = info.get_default(call_default_factory=True, validated_data=full)
    return unvalidated(model, {name: full[name] for name in model.model_fields if name in full}, given)
