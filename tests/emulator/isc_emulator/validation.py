"""Every API request held to the vendor spec subsets (specs/*.yaml) with openapi-core, when validation is on.

Checked: the path and method (an operation of the version's spec), the query parameters (documented names only,
each given once, values within their schemas), the bearer Authorization header the specs' oauth2 schemes ask for,
and for a PATCH the media type and the body (an array of JsonPatchOperation). /oauth/token and the control
interface are not in the subsets and are not checked. A violation is answered with 400 naming it, and kept (with
the count of requests checked) until a test takes it: the shared pytest fixtures fail the test that caused it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlencode

from .versions import API_VERSIONS, load_spec, version_for_path

_HOST = "http://isc-emulator.invalid"
JSON_PATCH = "application/json-patch+json"
SECRET_PARAMETERS = frozenset({"client_secret", "access_token", "refresh_token"})
VIOLATION_LIMIT = 1000


@dataclass
class _SpecRequest:
    """The openapi-core request protocol, for one request the emulator received."""

    host_url: str
    path: str
    method: str
    parameters: Any
    content_type: str
    body: bytes | None


@cache
def _validator_for(version_name: str) -> tuple[Any, dict[tuple[str, str], dict[str, str]]]:
    """The openapi-core validator of one version's spec, and the documented query parameters' types per (path, method)."""
    from openapi_core import Config, OpenAPI  # noqa: PLC0415 - heavy; only needed once validation is on
    from openapi_core.security.factories import SecurityProviderFactory  # noqa: PLC0415
    from openapi_core.security.providers import HttpProvider  # noqa: PLC0415

    class _BearerProvider(HttpProvider):
        """The specs' userAuth and applicationAuth are OAuth2: a request carries `Authorization: Bearer <token>`."""

        def __init__(self, scheme: Any) -> None:
            super().__init__(scheme)
            self.scheme = {"scheme": "bearer"}

    class _BearerProviders(SecurityProviderFactory):
        PROVIDERS = {**SecurityProviderFactory.PROVIDERS, "oauth2": _BearerProvider}

    version = API_VERSIONS[version_name]
    spec = dict(load_spec(version.spec_file))
    spec["servers"] = [{"url": _HOST + version.base_path}]
    config = Config(security_provider_factory=_BearerProviders(), extra_media_type_deserializers={JSON_PATCH: _json})
    openapi = OpenAPI.from_dict(spec, config=config)
    documented = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                parameters = [_resolve(spec, parameter) for parameter in operation.get("parameters", [])]
                types = {parameter["name"]: parameter["schema"]["type"] for parameter in parameters if parameter["in"] == "query"}
                documented[(version.base_path + path, method.upper())] = types
    return openapi.request_validator, documented


def _json(value: bytes | str, **_parameters: str) -> Any:
    return json.loads(value)


def _resolve(spec: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in parameter:
        return spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
    return parameter


def _operation(path: str, method: str, documented: Mapping[tuple[str, str], Mapping[str, str]]) -> tuple[str, str] | None:
    """The (spec path, method) a concrete request path matches: an exact path first, then a templated one."""
    if (path, method) in documented:
        return path, method
    for spec_path, spec_method in documented:
        head, brace, _rest = spec_path.partition("{")
        value = path[len(head) :]
        if brace and spec_method == method and path.startswith(head) and value and "/" not in value and (head + value, method) not in documented:
            return spec_path, spec_method
    return None


def _describe(error: BaseException) -> str:
    """openapi-core's message with its causes ("Invalid query parameter: limit: 251 is greater than the maximum of 250")."""
    if type(error).__name__ in ("SecurityNotFound", "SecurityValidationError", "InvalidSecurity"):
        return "no 'Authorization: Bearer <token>' header (the operation's security: userAuth or applicationAuth, both OAuth2)"
    parts = []
    current: BaseException | None = error
    while current is not None:
        details = getattr(current, "schema_errors", None)
        text = "; ".join(_schema_error(detail) for detail in details) if details else str(current)
        if current.__cause__ is not None:
            # Some messages embed their cause's; name the cause once, at its own level.
            text = text.replace(f": {current.__cause__}", "")
        if text and not any(text in part for part in parts):
            parts.append(text)
        current = current.__cause__
    return ": ".join(parts)


def _schema_error(detail: Any) -> str:
    where = "/".join(str(step) for step in getattr(detail, "absolute_path", ()))
    return f"{where}: {detail.message}" if where else detail.message


def request_violations(method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str], body: bytes) -> list[str]:
    """What in one API request breaks its version's spec subset (empty: nothing)."""
    from openapi_core.datatypes import RequestParameters  # noqa: PLC0415
    from werkzeug.datastructures import Headers, ImmutableMultiDict  # noqa: PLC0415 - an openapi-core dependency

    version = version_for_path(path)
    if version is None:
        return [f"no spec subset has the path {path} (versions: {', '.join(API_VERSIONS)})"]
    validator, documented = _validator_for(version.name)
    problems = []
    operation = _operation(path, method, documented)
    if operation is not None:
        problems += _query_problems(query, documented[operation], f"{method} {operation[0]}")
    pairs = [(name, value) for name, values in query.items() for value in values]
    request = _SpecRequest(
        host_url=_HOST,
        path=path,
        method=method.lower(),
        parameters=RequestParameters(query=ImmutableMultiDict(pairs), header=Headers(list(headers.items()))),
        content_type=(headers.get("Content-Type") or "").lower(),
        body=body or None,
    )
    problems += [_describe(error) for error in validator.iter_errors(request)]
    return [f"{version.spec_file}: {problem}" for problem in dict.fromkeys(problems)]


def _query_problems(query: Mapping[str, list[str]], types: Mapping[str, str], operation: str) -> list[str]:
    """What openapi-core lets through: undocumented names, repeats, and booleans other than true / false."""
    problems = []
    for name, values in query.items():
        if name not in types:
            problems.append(f"undocumented query parameter {name!r} (documented for {operation}: {', '.join(sorted(types)) or 'none'})")
        elif len(values) > 1:
            problems.append(f"query parameter {name!r} given {len(values)} times")
        elif types[name] == "boolean" and values[0] not in ("true", "false"):
            # openapi-core also takes yes/on/1/True; a JSON-schema boolean in a query is true or false.
            problems.append(f"query parameter {name!r} is a boolean: true or false, not {values[0]!r}")
    return problems


def describe_request(method: str, path: str, query: Mapping[str, list[str]]) -> str:
    shown = [(name, "***" if name in SECRET_PARAMETERS else value) for name, values in query.items() for value in values]
    return f"{method} {path}" + (f"?{urlencode(shown)}" if shown else "")


@dataclass
class ValidationLog:
    """How many requests were checked, and the violations not yet taken (thread-safe)."""

    validated: int = 0
    violations: list[str] = field(default_factory=list)
    total_violations: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, request: str, problems: list[str]) -> None:
        with self._lock:
            self.validated += 1
            if problems:
                self.total_violations += 1
                if len(self.violations) < VIOLATION_LIMIT:
                    self.violations.append(f"{request}: {'; '.join(problems)}")

    def take_violations(self) -> list[str]:
        with self._lock:
            taken, self.violations = self.violations, []
            return taken

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {"validated": self.validated, "violations": list(self.violations), "total_violations": self.total_violations}
