"""The JSON APIs' plumbing, shared by intake and the console: a strict body parser (a 400
naming the problem for any body that is not plain JSON), and documents that declare every
status an operation answers, each with the error body it carries.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from typing import Any, NoReturn

import flask
import flask_smorest
from apispec import BasePlugin
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from shared.schemas import ErrorSchema

MAX_DEPTH = 20  # the deepest real body (contact → safe_times → a window → days) is 5
MAX_NUMBER_LENGTH = 50  # characters in one number literal


class BadJSON(ValueError):
    """A request body that is not plain JSON; the message says what is wrong with it."""


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        raise BadJSON(f"A number in the body is too long (over {MAX_NUMBER_LENGTH} "
                      "characters).")
    return int(text)


def _real(text: str) -> float:
    if len(text) > MAX_NUMBER_LENGTH:
        raise BadJSON(f"A number in the body is too long (over {MAX_NUMBER_LENGTH} "
                      "characters).")
    value = float(text)
    if not math.isfinite(value):
        raise BadJSON("A number in the body is out of range.")
    return value


def _constant(name: str) -> NoReturn:
    raise BadJSON(f"{name} is not JSON: NaN and Infinity are not allowed.")


_DECODER = json.JSONDecoder(parse_int=_integer, parse_float=_real, parse_constant=_constant)


def parse_json(raw: bytes) -> Any:
    """The body as JSON, or BadJSON naming what is wrong: not UTF-8, malformed, nested more
    than MAX_DEPTH deep, a number too long or out of range, NaN or Infinity."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJSON(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise BadJSON(_too_deep()) from None
    except json.JSONDecodeError as exc:
        raise BadJSON(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column "
                      f"{exc.colno}).") from None
    if _depth_exceeds(value, MAX_DEPTH):
        raise BadJSON(_too_deep())
    return value


def _too_deep() -> str:
    return f"The body is nested too deeply (more than {MAX_DEPTH} levels)."


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else \
            node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class StrictParser(FlaskParser):
    """webargs' parser with `parse_json` for bodies (its own lets RecursionError and int()'s
    ValueError through as 500s)."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        raw = req.get_data(cache=True)
        if not raw:
            return core.missing  # no body: the schema names what is required
        try:
            return parse_json(raw)
        except BadJSON as exc:
            abort(400, message=str(exc), messages={"json": [str(exc)]})


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the strict body parser."""

    ARGUMENTS_PARSER = StrictParser()


def error_response(description: str, **extra: Any) -> dict[str, Any]:
    """An OpenAPI response for an error status: its description and the error body."""
    return {"description": description,
            "content": {"application/json": {"schema": "Error"}}, **extra}


Doc = str | dict[str, Any]  # a description, or a whole OpenAPI response
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying",
                               "required": True, "schema": {"type": "integer"}}}


class ErrorResponses(BasePlugin):
    """Declare on every operation the error statuses the framework answers for it, with the
    error body; and give the error body to errors a view declared with a description only.

    `every` applies to all operations, `with_body` to those that take a JSON body (and 415 to
    every POST/PUT/PATCH), `with_query` to those with query parameters.
    """

    def __init__(self, *, every: Mapping[int, Doc], with_body: Mapping[int, Doc],
                 with_query: Mapping[int, Doc]) -> None:
        self.every, self.with_body, self.with_query = every, with_body, with_query

    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **_: Any) -> None:
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            codes = dict(self.every)
            if "requestBody" in operation:
                codes |= self.with_body
            elif method in ("post", "put", "patch") and 415 in self.with_body:
                codes[415] = self.with_body[415]
            if any(isinstance(p, dict) and p.get("in") == "query"
                   for p in operation.get("parameters", [])):
                codes |= self.with_query
            responses = operation.setdefault("responses", {})
            for code, doc in codes.items():
                responses.setdefault(str(code), error_response(doc) if isinstance(doc, str)
                                     else copy.deepcopy(doc))
            for code, response in responses.items():
                if str(code)[0] in "45" and isinstance(response, dict) \
                        and "content" not in response:
                    response["content"] = error_response("")["content"]


class SchemaRules(BasePlugin):
    """A schema's `RULES` (see `StrictSchema`) as its description in the document."""

    def schema_helper(self, name: str, definition: dict[str, Any],
                      **kwargs: Any) -> dict[str, Any] | None:
        rules = getattr(kwargs.get("schema"), "RULES", "")
        return {"description": rules} if rules else None


class Api(flask_smorest.Api):
    """flask-smorest's Api: errors documented per status (no catch-all `default`, so a
    generic client can tell a declared status from a surprise), one error body, and error
    responses that keep the exception's own headers (the `Allow` of a 405)."""

    DEFAULT_ERROR_RESPONSE_NAME = None
    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: flask.Flask, *, errors: ErrorResponses) -> None:
        super().__init__(app, spec_kwargs={"extra_plugins": [errors, SchemaRules()]})

    def _register_pagination_header(self) -> None:
        """Nothing: neither API paginates. flask-smorest would register its pagination
        header, and with it a stray `PaginationMetadata` schema in every document (it has no
        option to turn this off)."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        own = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return payload, code, {**own, **(headers or {})}
