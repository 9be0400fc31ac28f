"""What the OpenAPI document (/api/v1/openapi.json) says beyond the routes' own schemas: the bearer
scheme every operation but the login needs, the error shape every refusal has, the id bounds."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask

from ecabinet.inputs import MAX_INT

BEARER = "bearerAuth"
#: operations anyone may call (ecabinet.security.PUBLIC_ENDPOINTS), as the document names them
PUBLIC_OPERATIONS = {("/api/v1/auth/token", "post")}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "snake_case, stable: what a program tests"},
            "message": {"type": "string", "description": "for people, in the Accept-Language (vi by default)"},
            "fields": {"type": "object", "description": "per field, why its value was refused (422)"},
            "reference": {"type": "string", "description": "the server log's reference of an unexpected error"},
        },
    }},
}
_REFUSALS = {"401": "not logged in (refused before the body is read)",
             "413": "body too large (ECABINET_MAX_JSON_KB; uploads ECABINET_MAX_UPLOAD_MB)"}


def init_app(app: APIFlask) -> None:
    app.config["SECURITY_SCHEMES"] = {BEARER: {"type": "http", "scheme": "bearer",
                                               "description": "POST /api/v1/auth/token gives the token"}}
    app.config["HTTP_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.config["VALIDATION_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.spec_processor(describe)  # type: ignore[arg-type]  # APIFlask passes the dict; its hint allows a str


def describe(spec: dict[str, Any]) -> dict[str, Any]:
    """Every operation needs the bearer token unless public, and may be refused in the error shape."""
    spec["security"] = [{BEARER: []}]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}  # ERROR_SCHEMA
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            public = (path, method) in PUBLIC_OPERATIONS
            if public:
                operation["security"] = []
            responses = operation["responses"]
            for status, description in _REFUSALS.items():
                if (status == "401" and public) or (status == "413" and method in ("get", "delete")):
                    continue
                responses.setdefault(status, {"description": description, "content": error})
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("schema", {}).get("type") == "integer":
                    parameter["schema"].update(minimum=0, maximum=MAX_INT)
    return spec
