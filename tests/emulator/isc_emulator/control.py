"""The control surface under /_emulator/: test tuning, separate from the vendor API (no auth, loopback only)."""

from __future__ import annotations

import json
from typing import Any

from .api import Reply, Request, json_reply
from .tenant import Tenant

CONTROL_PREFIX = "/_emulator"

_TASK_ARGUMENTS = ("definition_type", "source_id", "source_name", "age_s", "completion_status", "task_id", "messages")


def _snake_to_status_fields(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a POST /_emulator/tasks body into add_task arguments and TaskStatus field overrides."""
    arguments = {name: payload[name] for name in _TASK_ARGUMENTS if name in payload}
    overrides = {name: value for name, value in payload.items() if name not in _TASK_ARGUMENTS}
    if "completionStatus" in overrides:
        arguments["completion_status"] = overrides.pop("completionStatus")
    if "id" in overrides:
        arguments["task_id"] = overrides.pop("id")
    if "messages" in arguments:
        arguments["messages"] = list(arguments["messages"])
    return arguments, overrides


def handle_control(tenant: Tenant, request: Request) -> Reply:
    try:
        payload = json.loads(request.body) if request.body.strip() else {}
        return _route(tenant, request, payload)
    except KeyError as exc:
        return json_reply(400, {"error": f"missing field {exc}"})
    except (ValueError, TypeError, AttributeError) as exc:
        return json_reply(400, {"error": str(exc)})


def _route(tenant: Tenant, request: Request, payload: Any) -> Reply:
    route = (request.method, request.path[len(CONTROL_PREFIX) :].rstrip("/"))
    match route:
        case ("GET", "/health"):
            return json_reply(200, {"status": "ok"})
        case ("POST", "/reset"):
            tenant.reset(seed=payload.get("seed", "empty"), generate=int(payload.get("generate") or 0))
            return json_reply(200, {"status": "ok", "tasks": len(tenant.tasks())})
        case ("GET", "/requests"):
            if request.param("settle") in ("1", "true"):
                # Requests a client gave up on (held by a slow fault) finish first, so the log shows their answers.
                tenant.settle()
            return json_reply(200, tenant.request_log())
        case ("DELETE", "/requests"):
            tenant.clear_request_log()
            return json_reply(200, {"status": "ok"})
        case ("GET", "/requests/summary"):
            return json_reply(200, tenant.request_counts())
        case ("GET", "/validation"):
            return json_reply(200, {"enabled": tenant.config.validate_requests, **tenant.validation.report()})
        case ("DELETE", "/validation/violations"):
            return json_reply(200, {"violations": tenant.validation.take_violations()})
        case ("GET", "/config"):
            return json_reply(200, tenant.config.as_dict())
        case ("POST", "/config"):
            return json_reply(200, tenant.configure(**payload))
        case ("GET", "/faults"):
            return json_reply(200, tenant.faults())
        case ("POST", "/faults"):
            specs = payload if isinstance(payload, list) else [payload]
            queued = [tenant.inject_fault(**spec) for spec in specs]
            return json_reply(200, {"queued": len(queued), "faults": tenant.faults()})
        case ("DELETE", "/faults"):
            tenant.clear_faults()
            return json_reply(200, {"status": "ok"})
        case ("POST", "/faults/release"):
            tenant.release_held()
            return json_reply(200, {"status": "ok"})
        case ("GET", "/tasks"):
            return json_reply(200, tenant.tasks())
        case ("POST", "/tasks"):
            arguments, overrides = _snake_to_status_fields(payload)
            return json_reply(201, tenant.add_task(**arguments, **overrides))
        case ("POST", "/tasks/launch"):
            return json_reply(201, tenant.launch_task(**payload))
        case ("POST", "/tasks/generate"):
            total = tenant.generate(int(payload.pop("count")), **payload)
            return json_reply(200, {"tasks": total})
        case ("POST", "/clients"):
            tenant.add_client(payload["client_id"], payload["secret"], bool(payload.get("user_context", True)))
            return json_reply(201, {"client_id": payload["client_id"]})
        case ("POST", "/tokens/expire"):
            return json_reply(200, {"expired": tenant.expire_tokens()})
        case ("POST", "/clock"):
            if payload.get("freeze"):
                tenant.freeze_clock()
            tenant.advance_clock(float(payload.get("advance_s", 0)))
            return json_reply(200, {"now": tenant.now().isoformat()})
    return json_reply(404, {"error": f"no control endpoint {request.method} {request.path}"})
