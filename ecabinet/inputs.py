"""What a request may carry, checked in one place before any view or service sees it.

Ids are the database's integers (PostgreSQL ``integer``: a bigger number in a query is an error
there, not an empty result), text holds no NUL (PostgreSQL refuses it) and no lone surrogate (it
cannot be encoded back), dates stay inside what Python and the time zones shown can represent, and
a JSON body is shallow. Each rule is applied at one level for every route:
- path ids by the ``int`` URL converter (``IdConverter``): out of range is a 404, like an unknown id;
- JSON bodies by ``load_json`` (called before the view by ``ecabinet.security``);
- the fields of every input schema (JSON, form, query) by ``guard_input_schemas`` at start-up, which
  also puts the bounds into the OpenAPI document;
- query strings and form fields read without a schema by ``ecabinet.security``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from apiflask import APIFlask
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.routing import IntegerConverter

from ecabinet.errors import BadRequest

#: the database's integer (PostgreSQL ``integer``, what every id and count column is)
MIN_INT = -(2**31)
MAX_INT = 2**31 - 1
#: the earliest and latest moment a request may name (far beyond any meeting or deadline, and far
#: enough from year 1 and 9999 that converting to UTC or Asia/Ho_Chi_Minh never overflows)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
#: nesting a JSON body may have (the deepest request of the API has 3 levels)
MAX_JSON_DEPTH = 16

TEXT_MESSAGE = _l("The text contains characters that are not allowed.")
DATE_MESSAGE = _l("The date must be between 1900 and 2999.")
INTEGER_MESSAGE = _l("The number is out of range.")


class IdConverter(IntegerConverter):
    """``<int:...>`` in a route: only the database's positive integers match, so a bigger number is
    the 404 of an unknown id instead of an overflow in the query."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def is_db_int(value: object) -> bool:
    """An int (not a bool) the database's integer columns can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_INT <= value <= MAX_INT


def text_problem(value: str) -> bool:
    """Whether ``value`` holds a NUL or a lone surrogate (text no column or UTF-8 answer can carry)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class InvalidJson(BadRequest):
    default_code = "invalid_json"


class InvalidText(BadRequest):
    default_code = "invalid_characters"


class JsonTooDeep(BadRequest):
    default_code = "json_too_deep"


def load_json(data: bytes | str) -> Any:
    """A request's JSON body, refused (400) when it is not JSON, nests deeper than ``MAX_JSON_DEPTH``
    or holds text no column can store. Infinity and NaN are not JSON and are refused too."""
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise JsonTooDeep() from None
    except ValueError:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        raise InvalidJson() from None
    check_json(value)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_json(value: Any) -> None:
    """Refuse a parsed JSON value nested deeper than ``MAX_JSON_DEPTH`` or with bad text in a string or key."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if text_problem(item):
                raise InvalidText()
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise JsonTooDeep()
            if isinstance(item, dict):
                for key, inner in item.items():
                    if text_problem(key):
                        raise InvalidText()
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)


def has_bad_text(values: Iterable[str]) -> bool:
    return any(text_problem(value) for value in values)


# --- every input schema ------------------------------------------------------------------------------

def _valid_text(value: Any) -> bool:
    if isinstance(value, str) and text_problem(value):
        raise ValidationError(str(TEXT_MESSAGE))
    return True


def _valid_moment(value: Any) -> bool:
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        try:
            inside = EARLIEST <= moment <= LATEST
        except OverflowError:  # an offset that pushes year 1 or 9999 out of range
            inside = False
    elif isinstance(value, date):
        inside = EARLIEST.date() <= value <= LATEST.date()
    else:
        return True
    if not inside:
        raise ValidationError(str(DATE_MESSAGE))
    return True


def _guards(field: fields.Field) -> list[Any]:
    if isinstance(field, fields.Integer):
        return [validate.Range(MIN_INT, MAX_INT, error=str(INTEGER_MESSAGE))]
    if isinstance(field, fields.String):
        return [_valid_text]
    if isinstance(field, fields.DateTime | fields.Date):
        return [_valid_moment]
    return []


def _schema_fields(schema: Schema) -> Iterator[fields.Field]:
    """Every field of ``schema``, those of nested schemas and list items included."""
    seen: set[int] = set()
    pending = list(schema.fields.values())
    while pending:
        field = pending.pop()
        if id(field) in seen:
            continue
        seen.add(id(field))
        yield field
        if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
            pending.extend(field.schema.fields.values())
        elif isinstance(field, fields.List):
            pending.append(field.inner)
        elif isinstance(field, fields.Dict) and field.value_field is not None:
            pending.append(field.value_field)


def guard_schema(schema: Schema) -> None:
    """Add the database's bounds to every field of ``schema`` that a request fills (idempotent); the
    OpenAPI document then shows an integer's bounds, so clients (and the fuzz test) know them."""
    for field in _schema_fields(schema):
        if getattr(field, "_ecabinet_guarded", False):
            continue
        field.validators = [*field.validators, *_guards(field)]
        field._ecabinet_guarded = True  # type: ignore[attr-defined]  # our mark on a marshmallow field


def guard_input_schemas(app: APIFlask) -> None:
    """Apply ``guard_schema`` to the request schemas of every route (apiflask keeps the instance it
    validates with in the view's ``_spec``); run once the blueprints are registered."""
    for view in app.view_functions.values():
        spec = getattr(view, "_spec", None) or {}
        schemas = [spec.get("body"), *(schema for schema, _location in spec.get("args") or [])]
        for schema in schemas:
            if isinstance(schema, Schema):
                guard_schema(schema)


def query_int(value: str | None) -> int | None:
    """A query-string integer read without a schema: None when absent, malformed or out of range."""
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if MIN_INT <= number <= MAX_INT else None
