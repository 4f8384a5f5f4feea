"""The vendor API surface: /oauth/token and the task-status operations of every version."""

from __future__ import annotations

import base64
import json
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from . import filters
from .patching import PatchError
from .tenant import Fault, Tenant, TokenGrant
from .validation import describe_request, request_violations
from .versions import ApiVersion, version_for_path

MAX_LIMIT = 250
INT32_MAX = 2**31 - 1
JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
EXPERIMENTAL_HEADER = "X-SailPoint-Experimental"
RATE_LIMIT_BODY = {"message": " Rate Limit Exceeded "}

_DETAIL_CODES = {
    400: "400.1 Bad Request Content",
    403: "403 Forbidden",
    404: "404 Not found",
    405: "405 Method Not Allowed",
    500: "500.0 Internal Fault",
    502: "502 Bad Gateway",
    503: "503 Service Unavailable",
    504: "504 Gateway Timeout",
}
_DEFAULT_TEXTS = {
    403: "The server understood the request but refuses to authorize it.",
    404: "The server did not find a current representation for the target resource.",
    500: "An internal fault occurred.",
    502: "The gateway received an invalid response from the upstream server.",
    503: "The service is temporarily unavailable.",
    504: "The gateway timed out waiting for the upstream server.",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False
    # For the request log: who asked, which version, which fault answered.
    client_id: str | None = None
    fault: str | None = None


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), {"Content-Type": JSON, **(headers or {})})


def error_response_dto(status: int, text: str | None = None) -> dict[str, Any]:
    """The vendor's ErrorResponseDto: detailCode, trackingId, messages (and empty causes)."""
    return {
        "detailCode": _DETAIL_CODES.get(status, f"{status} Error"),
        "trackingId": uuid.uuid4().hex,
        "messages": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": text or _DEFAULT_TEXTS.get(status, "Error.")}],
        "causes": [],
    }


def error_reply(status: int, text: str | None = None, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(status, error_response_dto(status, text), headers)


def unauthorized(reason: str) -> Reply:
    return json_reply(401, {"error": reason})


def too_many_requests(retry_after: int | None) -> Reply:
    """429 as ISC sends it; ``retry_after=None`` leaves Retry-After out, as a gateway in front of it may."""
    return json_reply(429, RATE_LIMIT_BODY, {} if retry_after is None else {"Retry-After": str(retry_after)})


def templated_path(path: str) -> str:
    """The path with the task id replaced by {id}, for the request summary."""
    version = version_for_path(path)
    if version is None:
        return path
    rest = path[len(version.list_path) :]
    if rest in ("", "/pending-tasks") or "/" in rest[1:]:
        return path
    return f"{version.list_path}/{{id}}"


def is_deprecated_endpoint(path: str) -> bool:
    """pending-tasks, where the version still has it: every answer carries X-Deprecated: true."""
    version = version_for_path(path)
    return version is not None and version.has_pending_endpoint and path == f"{version.list_path}/pending-tasks"


def _fault_reply(fault: Fault) -> Reply:
    if fault.kind == "drop":
        return Reply(0, drop_connection=True, fault="drop")
    if fault.kind == "rate_limit_storm" or fault.status == 429:
        reply = too_many_requests(fault.retry_after)
    elif fault.html:
        page = (
            f"<html><head><title>{fault.status}</title></head><body><center><h1>{fault.status} "
            f"{_DETAIL_CODES.get(fault.status, 'Error').split(' ', 1)[-1]}</h1></center><hr><center>nginx</center>"
            "</body></html>\n"
        )
        reply = Reply(fault.status, page.encode(), {"Content-Type": "text/html"})
    else:
        reply = error_reply(fault.status)
    if fault.status in (503, 429) and "Retry-After" not in reply.headers and fault.retry_after is not None:
        reply.headers["Retry-After"] = str(fault.retry_after)
    reply.fault = fault.kind
    return reply


def check_request(tenant: Tenant, request: Request) -> Reply | None:
    """With validate_requests on: a 400 naming what breaks the vendor spec, else None (always None when off).

    /oauth/token is not part of the task-management specs and is not checked.
    """
    if not tenant.config.validate_requests or request.path == "/oauth/token":
        return None
    try:
        problems = request_violations(request.method, request.path, request.query, request.headers, request.body)
    except Exception as exc:  # noqa: BLE001 - a validator failure must fail the test, not pass the request
        traceback.print_exc()
        problems = [f"the request validator failed: {type(exc).__name__}: {exc}"]
    tenant.validation.record(describe_request(request.method, request.path, request.query), problems)
    if not problems:
        return None
    reply = error_reply(400, f"The request does not follow the vendor spec: {'; '.join(problems)}")
    reply.fault = "spec_violation"
    return reply


def handle_api(tenant: Tenant, request: Request) -> Reply:
    """Answer one API request (faults and latency are applied by the caller)."""
    if request.path == "/oauth/token":
        return _token(tenant, request)
    grant = tenant.authenticate(_bearer_token(request.headers.get("Authorization")))
    if isinstance(grant, str):
        return unauthorized(grant)
    version = version_for_path(request.path)
    retry_after = tenant.check_rate_limit(grant.client_id, version.name if version else None)
    if retry_after is not None:
        reply = too_many_requests(retry_after)
    elif version is None:
        reply = error_reply(404)
    else:
        reply = _task_status(tenant, version, grant, request)
    reply.client_id = grant.client_id
    return reply


def apply_fault(tenant: Tenant, request: Request) -> Reply | None:
    """A reply forced by a queued fault, or None (a `slow` fault sleeps, then lets the request through).

    An ``apply_first`` fault lets the request through and then answers it with the fault instead.
    """
    fault = tenant.take_fault(request.method, request.path)
    if fault is None:
        return None
    if fault.kind == "slow":
        tenant.hold(fault.seconds)
        return None
    if not fault.apply_first:
        return _fault_reply(fault)
    carried_out = handle_api(tenant, request)
    reply = _fault_reply(fault)
    reply.client_id = carried_out.client_id
    reply.fault = f"{fault.kind}+applied"
    return reply


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _space, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


# --------------------------------------------------------------------------------------------- /oauth/token
def _token(tenant: Tenant, request: Request) -> Reply:
    if request.method != "POST":
        return Reply(405, headers={"Allow": "POST"})
    params = {name: values[-1] for name, values in request.query.items()}
    content_type = request.headers.get("Content-Type", "")
    if request.body and (content_type.startswith("application/x-www-form-urlencoded") or not content_type):
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update({name: values[-1] for name, values in form.items()})
    basic = _basic_credentials(request.headers.get("Authorization"))
    if basic and "client_id" not in params:
        params["client_id"], params["client_secret"] = basic
    client_id = params.get("client_id", "")
    retry_after = tenant.check_rate_limit(client_id, "oauth")
    if retry_after is not None:
        reply = too_many_requests(retry_after)
    elif params.get("grant_type", "").lower() != "client_credentials":
        reply = json_reply(
            400,
            {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"},
        )
    else:
        token = tenant.issue_token(client_id, params.get("client_secret", ""))
        if token is None:
            reply = json_reply(401, {"error": "invalid_client", "error_description": "Bad credentials"})
        else:
            reply = json_reply(200, token, {"Cache-Control": "no-store", "Pragma": "no-cache"})
    reply.client_id = client_id or None
    return reply


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip()).decode()
    except ValueError:
        return None
    client_id, _colon, secret = decoded.partition(":")
    return client_id, secret


# --------------------------------------------------------------------------------------------- task-status
def _task_status(tenant: Tenant, version: ApiVersion, grant: TokenGrant, request: Request) -> Reply:
    experimental_header = (request.headers.get(EXPERIMENTAL_HEADER) or "").lower()
    if version.name == "v1" and tenant.config.require_experimental_header and experimental_header != "true":
        return json_reply(400, {"error": "Experimental Header is missing or invalid."})
    rest = request.path[len(version.list_path) :]
    if rest in ("", "/"):
        if request.method != "GET":
            return Reply(405, headers={"Allow": "GET"})
        return _list(tenant, version, request)
    if rest == "/pending-tasks" and version.has_pending_endpoint:
        return _pending(tenant, version, request) if request.method in ("GET", "HEAD") else Reply(405, headers={"Allow": "GET, HEAD"})
    task_id = rest[1:]
    if "/" in task_id:
        return error_reply(404)
    if request.method == "GET":
        body = tenant.get_task_json(task_id)
        # The spec gives get-by-id's 404 no body.
        return Reply(404) if body is None else Reply(200, body, {"Content-Type": JSON})
    if request.method == "PATCH":
        return _patch(tenant, grant, task_id, request)
    return Reply(405, headers={"Allow": "GET, PATCH"})


class _BadRequest(Exception):
    pass


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.param(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise _BadRequest(f"{name} must be an integer between 0 and {maximum}, got {raw!r}") from None
    if not 0 <= value <= maximum:
        raise _BadRequest(f"{name} must be between 0 and {maximum}, got {value}")
    return value


def _paging(request: Request) -> tuple[int, int, bool]:
    limit = _int_param(request, "limit", MAX_LIMIT, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, INT32_MAX)
    raw_count = request.param("count")
    if raw_count is None or raw_count.lower() == "false":
        count = False
    elif raw_count.lower() == "true":
        count = True
    else:
        raise _BadRequest(f"count must be true or false, got {raw_count!r}")
    return limit, offset, count


def _sort_descending(request: Request, version: ApiVersion) -> bool:
    raw = request.param("sorters")
    if raw is None or not raw.strip():
        return False
    sorters = [part.strip() for part in raw.split(",")]
    if len(sorters) != 1 or sorters[0] not in version.sorters:
        fields = " or ".join(sorted(version.sorters))
        raise _BadRequest(f"Unsupported sorters {raw!r}: sorting is supported for one field, in ascending or descending order ({fields})")
    return sorters[0].startswith("-")


def _page_reply(page: list[bytes], total: int, want_count: bool) -> Reply:
    headers = {"Content-Type": JSON}
    if want_count:
        headers["X-Total-Count"] = str(total)
    return Reply(200, b"[" + b",".join(page) + b"]", headers)


def _list(tenant: Tenant, version: ApiVersion, request: Request) -> Reply:
    try:
        limit, offset, want_count = _paging(request)
        descending = _sort_descending(request, version)
        raw_filter = request.param("filters")
        tree = None
        if raw_filter is not None and raw_filter.strip():
            tree = filters.parse(raw_filter)
            filters.validate(tree, version)
    except (_BadRequest, filters.FilterError) as exc:
        return error_reply(400, str(exc))
    page, total = tenant.list_tasks(version, filter_tree=tree, descending=descending, offset=offset, limit=limit)
    return _page_reply(page, total, want_count)


def _pending(tenant: Tenant, version: ApiVersion, request: Request) -> Reply:
    try:
        limit, offset, want_count = _paging(request)
    except _BadRequest as exc:
        return error_reply(400, str(exc))
    page, total = tenant.list_tasks(version, offset=offset, limit=limit, pending_only=True)
    if not page and (total == 0 or limit > 0):
        return Reply(204)
    reply = _page_reply(page, total, want_count)
    if request.method == "HEAD":
        reply.body = b""
        del reply.headers["Content-Type"]
    return reply


def _patch(tenant: Tenant, grant: TokenGrant, task_id: str, request: Request) -> Reply:
    if not grant.user_context:
        return error_reply(
            403,
            "Updating a task status needs a user context: use a token from a personal access token (userAuth), not an API client (applicationAuth).",
        )
    media_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if media_type != JSON_PATCH:
        return error_reply(400, f"Content-Type must be {JSON_PATCH}, got {media_type or 'none'!r}")
    try:
        operations = json.loads(request.body or b"null")
    except ValueError as exc:
        return error_reply(400, f"The body is not valid JSON: {exc}")
    try:
        body = tenant.patch_task(task_id, operations)
    except PatchError as exc:
        return error_reply(400, str(exc))
    if body is None:
        return error_reply(404, f"TaskStatus with id {task_id!r} was not found.")
    return Reply(200, body, {"Content-Type": JSON})
