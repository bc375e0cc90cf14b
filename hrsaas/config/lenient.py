"""Build a model from data that does not fully validate, so that the cross-field rules still run.

A field that fails validation falls back to its default, or (when it has none) keeps its raw
value; nested models, ``tuple[Model, ...]`` and ``dict[str, Model]`` are built the same way one
level down. The result is only ever handed to the rules — whose problems about a field that
already failed validation are dropped, and which may fail on a raw value (they are then skipped):
nothing else sees a leniently built environment.
"""

from __future__ import annotations

import functools
import typing
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

_FAIL = object()


def build(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError:
        pass
    if not isinstance(data, dict):
        return _FAIL
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in data:
            if not field.is_required():
                values[name] = field.get_default(call_default_factory=True)
            continue
        value = _value(field.annotation, tuple(field.metadata), data[name])
        if value is _FAIL:
            value = (field.get_default(call_default_factory=True) if not field.is_required()
                     else data[name])
        values[name] = value
    return model.model_construct(**values)


def _value(annotation: Any, metadata: tuple[Any, ...], raw: Any) -> Any:
    model = _model(annotation)
    if model is not None:
        return build(model, raw) if isinstance(raw, dict) else _FAIL
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and len(args) == 2 and _model(args[1]) is not None:
        if not isinstance(raw, dict):
            return _FAIL
        built = {k: build(_model(args[1]), v) for k, v in raw.items()}
        return {k: v for k, v in built.items() if v is not _FAIL}
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and _model(args[0]):
        if not isinstance(raw, list):
            return _FAIL
        built = [build(_model(args[0]), v) for v in raw]
        return tuple(v for v in built if v is not _FAIL)
    try:
        return _adapter(annotation, metadata).validate_python(raw)
    except (ValidationError, TypeError):
        return _FAIL


def _model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


@functools.cache
def _adapter(annotation: Any, metadata: tuple[Any, ...]) -> TypeAdapter[Any]:
    return TypeAdapter(Annotated[(annotation, *metadata)] if metadata else annotation)
