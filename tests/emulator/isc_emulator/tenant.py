"""Tenant state: tasks, OAuth clients and tokens, rate limiter, queued faults, request log, tuning.

Every public method is thread-safe (one lock); the HTTP handlers and pytest call the same methods.
"""

from __future__ import annotations

import bisect
import copy
import math
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from . import filters
from .patching import checked_operations, normalise_completion_status, parse_test_ops, patched_status
from .records import DEFAULT_TIMESTAMP_FORM, Run, Source, TaskRecord, format_timestamp, make_task, parse_timestamp, parse_timestamp_form, task_message
from .seed import DEFAULT_GENERATED_TYPES, DEMO_SOURCES, SEED_NAMES, demo_tasks, generate_tasks
from .validation import ValidationLog
from .versions import TASK_DEFINITION_TYPES, ApiVersion

RETENTION = timedelta(days=90)
DEFAULT_TOKEN_TTL_S = 749
REQUEST_LOG_LIMIT = 200_000

FAULT_KINDS = ("status", "drop", "slow", "rate_limit_storm")
# Faults that can answer a request the tenant has already carried out (a 429 means it was not).
APPLY_FIRST_KINDS = ("status", "drop")

BUILTIN_CLIENTS = (
    ("pat-0001-demo-client", "pat-demo-secret", True),
    ("api-0002-demo-client", "api-demo-secret", False),
)


@dataclass(frozen=True)
class RateLimit:
    requests: int = 100
    window_s: float = 10.0


DEFAULT_RATE_LIMIT = RateLimit()


@dataclass
class Config:
    latency_ms: float = 0.0
    rate_limit: RateLimit | None = field(default_factory=RateLimit)
    token_ttl_s: float = DEFAULT_TOKEN_TTL_S
    require_experimental_header: bool = False
    # Hold every API request to the vendor spec subsets (validation.py); a violation is answered with 400.
    validate_requests: bool = False
    test_ops: str = "honour"  # one of patching.TEST_OPS_MODES
    timestamp_form: str = DEFAULT_TIMESTAMP_FORM  # one of records.TIMESTAMP_FORMS

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "rate_limit": asdict(self.rate_limit) if self.rate_limit else None,
            "token_ttl_s": self.token_ttl_s,
            "require_experimental_header": self.require_experimental_header,
            "validate_requests": self.validate_requests,
            "test_ops": self.test_ops,
            "timestamp_form": self.timestamp_form,
        }


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    secret: str
    user_context: bool
    user_name: str | None = None


@dataclass(frozen=True)
class TokenGrant:
    client_id: str
    user_context: bool
    expires_at: datetime


@dataclass
class Fault:
    kind: str
    status: int = 500
    count: int = 1
    retry_after: int | None = 1  # None: answer without a Retry-After header
    seconds: float = 0.0
    html: bool = False
    method: str | None = None
    path_contains: str | None = None
    # Carry the request out first, then answer with the fault: a change that took effect but whose answer was lost.
    apply_first: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path_contains or self.path_contains in path


def parse_rate_limit(value: Any) -> RateLimit | None:
    """Accept None / "off" / {"requests": N, "window_s": S} / a bare request count (per 10 s)."""
    if value is None or value is False or (isinstance(value, str) and value.lower() in ("off", "none", "")):
        return None
    if isinstance(value, RateLimit):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {"requests", "window_s"}
        if unknown:
            raise ValueError(f"unknown rate_limit keys: {sorted(unknown)}")
        limit = RateLimit(int(value.get("requests", 100)), float(value.get("window_s", 10.0)))
    else:
        limit = RateLimit(int(value))
    if limit.requests < 1 or limit.window_s <= 0:
        raise ValueError("rate_limit needs requests >= 1 and window_s > 0")
    return limit


def _record_getters() -> dict[str, Callable[[TaskRecord], str | None]]:
    return {
        "id": lambda record: record.status["id"],
        "sourceId": lambda record: record.source_id,
        "completionStatus": lambda record: record.status["completionStatus"],
        "type": lambda record: record.definition_type,
        "launcher": lambda record: record.status["launcher"],
    }


RECORD_GETTERS = _record_getters()


class Tenant:
    def __init__(
        self,
        *,
        seed: str = "demo",
        generate: int = 0,
        token_ttl_s: float = DEFAULT_TOKEN_TTL_S,
        rate_limit: Any = DEFAULT_RATE_LIMIT,
        latency_ms: float = 0.0,
        require_experimental_header: bool = False,
        validate_requests: bool = False,
        test_ops: str = "honour",
        timestamp_form: str = DEFAULT_TIMESTAMP_FORM,
    ) -> None:
        self._lock = threading.RLock()
        self._startup_config = Config(
            latency_ms=float(latency_ms),
            rate_limit=parse_rate_limit(rate_limit),
            token_ttl_s=float(token_ttl_s),
            require_experimental_header=require_experimental_header,
            validate_requests=validate_requests,
            test_ops=parse_test_ops(test_ops),
            timestamp_form=parse_timestamp_form(timestamp_form),
        )
        # Requests checked against the specs and violations not yet taken; survives reset() like clients do.
        self.validation = ValidationLog()
        self._config = replace(self._startup_config)
        self._clock_offset = timedelta(0)
        # freeze_clock(): the real (wall, monotonic) time the tenant's clock stands at, until reset.
        self._frozen: tuple[datetime, float] | None = None
        self._clients: dict[str, OAuthClient] = {}
        for client_id, secret, user_context in BUILTIN_CLIENTS:
            self.add_client(client_id, secret, user_context=user_context)
        self._tokens: dict[str, TokenGrant] = {}
        self._records_by_id: dict[str, TaskRecord] = {}
        self._records_sorted: list[TaskRecord] = []  # ascending by (created, id)
        self._running: set[TaskRecord] = set()
        self._faults: list[Fault] = []
        self._rate_windows: dict[tuple[str, str | None], deque[float]] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._counts: Counter[str] = Counter()
        # Requests a `slow` fault holds wait on this event; release_held() sets it (and makes a new one).
        self._release = threading.Event()
        self._holding = 0
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)
        self.reset(seed=seed, generate=generate)

    # ----------------------------------------------------------------------------------------- clock, config
    def now(self) -> datetime:
        frozen = self._frozen
        return (frozen[0] if frozen else datetime.now(UTC)) + self._clock_offset

    def _monotonic(self) -> float:
        frozen = self._frozen
        return (frozen[1] if frozen else time.monotonic()) + self._clock_offset.total_seconds()

    def freeze_clock(self) -> None:
        """Stop the tenant's clock (task progress, token expiry, rate-limit windows) until reset(); advance_clock() still moves it."""
        with self._lock:
            if self._frozen is None:
                self._frozen = (datetime.now(UTC), time.monotonic())

    def advance_clock(self, seconds: float) -> None:
        """Move the tenant's clock forward (ages tasks and tokens without waiting)."""
        with self._lock:
            self._clock_offset += timedelta(seconds=seconds)

    @property
    def config(self) -> Config:
        with self._lock:
            return replace(self._config)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change latency_ms, rate_limit (dict, count, "off" or None), token_ttl_s, require_experimental_header, test_ops,
        timestamp_form (how answers write timestamps; cached record JSON is per form, so the switch is immediate),
        validate_requests."""
        with self._lock:
            config = replace(self._config)
            for name, value in settings.items():
                if name == "latency_ms":
                    config.latency_ms = max(0.0, float(value))
                elif name == "rate_limit":
                    config.rate_limit = parse_rate_limit(value)
                    self._rate_windows.clear()
                elif name == "token_ttl_s":
                    config.token_ttl_s = float(value)
                elif name == "require_experimental_header":
                    config.require_experimental_header = bool(value)
                elif name == "validate_requests":
                    config.validate_requests = bool(value)
                elif name == "test_ops":
                    config.test_ops = parse_test_ops(value)
                elif name == "timestamp_form":
                    config.timestamp_form = parse_timestamp_form(value)
                else:
                    raise ValueError(f"unknown setting {name!r}; settings: {', '.join(Config().as_dict())}")
            self._config = config
            return config.as_dict()

    def reset(self, seed: str = "empty", generate: int = 0) -> None:
        """Fresh tasks, no faults, empty request log and rate-limit windows, startup configuration.

        Clients and tokens survive, so a client that logged in before the reset keeps working.
        """
        if seed not in SEED_NAMES:
            raise ValueError(f"unknown seed {seed!r}; seeds: {', '.join(SEED_NAMES)}")
        with self._lock:
            self._config = replace(self._startup_config)
            self._clock_offset = timedelta(0)
            self._frozen = None
            self._records_by_id.clear()
            self._records_sorted.clear()
            self._running.clear()
            self._faults.clear()
            self.release_held()
            self._rate_windows.clear()
            self.clear_request_log()
            if seed == "demo":
                self._insert_many(demo_tasks(self.now()))
            if generate:
                self.generate(generate)

    # ----------------------------------------------------------------------------------------- OAuth
    def add_client(self, client_id: str, secret: str, user_context: bool = True) -> None:
        user_name = f"{client_id.split('-')[0]}.user" if user_context else None
        with self._lock:
            self._clients[client_id] = OAuthClient(client_id, secret, user_context, user_name)

    def issue_token(self, client_id: str, secret: str) -> dict[str, Any] | None:
        """A token response for valid credentials, else None."""
        with self._lock:
            client = self._clients.get(client_id)
            if client is None or not secrets.compare_digest(client.secret.encode(), secret.encode()):
                return None
            token = secrets.token_urlsafe(32)
            ttl = self._config.token_ttl_s
            self._tokens[token] = TokenGrant(client_id, client.user_context, self.now() + timedelta(seconds=ttl))
        response: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
            "scope": "sp:scopes:all",
            "tenant_id": "3d8a5c6e-7f1b-4c2d-9e0a-1b2c3d4e5f60",
            "pod": "emulator",
            "org": "emulator",
            "internal": False,
            "strong_auth_supported": False,
            "enabled": True,
            "jti": secrets.token_hex(8),
        }
        if client.user_context:
            response.update(user_id=client.user_name, identity_id=secrets.token_hex(16), strong_auth=False)
        return response

    def authenticate(self, token: str | None) -> TokenGrant | str:
        """The grant behind a bearer token, or the reason it is refused."""
        if not token:
            return "JWT validation failed: no bearer token in the Authorization header"
        with self._lock:
            grant = self._tokens.get(token)
            if grant is None:
                return "JWT validation failed: JWT is invalid"
            if self.now() >= grant.expires_at:
                return "JWT validation failed: JWT is expired"
            return grant

    def issued_tokens(self) -> list[str]:
        """Every access token issued since start, for tests that prove tokens never leak (Python side only)."""
        with self._lock:
            return list(self._tokens)

    def expire_tokens(self) -> int:
        """Expire every issued token now; returns how many there were."""
        with self._lock:
            moment = self.now()
            for token, grant in self._tokens.items():
                self._tokens[token] = replace(grant, expires_at=moment)
            return len(self._tokens)

    # ----------------------------------------------------------------------------------------- rate limit
    def check_rate_limit(self, client_id: str, bucket: str | None) -> int | None:
        """Count one request; return None when allowed, else whole seconds until the window frees a slot."""
        with self._lock:
            limit = self._config.rate_limit
            if limit is None:
                return None
            # On the tenant's clock, so that freeze_clock() and advance_clock() apply to the window too.
            moment = self._monotonic()
            window = self._rate_windows.setdefault((client_id, bucket), deque())
            while window and window[0] <= moment - limit.window_s:
                window.popleft()
            if len(window) >= limit.requests:
                return max(1, math.ceil(window[0] + limit.window_s - moment))
            window.append(moment)
            return None

    # ----------------------------------------------------------------------------------------- faults
    def inject_fault(
        self,
        kind: str,
        *,
        status: int | None = None,
        count: int = 1,
        retry_after: int | None = 1,
        seconds: float = 0.0,
        html: bool = False,
        method: str | None = None,
        path_contains: str | None = None,
        apply_first: bool = False,
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; kinds: {', '.join(FAULT_KINDS)}")
        if kind == "rate_limit_storm":
            status = 429
        status = 500 if status is None else int(status)
        if apply_first and (kind not in APPLY_FIRST_KINDS or status == 429):
            raise ValueError(f"apply_first needs kind {' or '.join(APPLY_FIRST_KINDS)} and no 429 (ISC answers 429 before doing any work)")
        if kind == "status" and not 400 <= status <= 599:
            raise ValueError("a status fault needs a 4xx or 5xx status (500, 502, 503, 504, 429, ...)")
        if int(count) < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(
            kind, status, int(count), None if retry_after is None else int(retry_after), float(seconds), bool(html), method, path_contains, bool(apply_first)
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first queued fault that matches this request."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        del self._faults[index]
                    return replace(fault, count=1)
            return None

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def hold(self, seconds: float) -> None:
        """A `slow` fault: keep the request waiting `seconds`, or until release_held(), whichever comes first."""
        with self._lock:
            released = self._release
            self._holding += 1
        try:
            released.wait(seconds)
        finally:
            with self._lock:
                self._holding -= 1

    def holding(self) -> int:
        """How many requests a `slow` fault holds right now."""
        with self._lock:
            return self._holding

    def release_held(self) -> None:
        """Let every request a `slow` fault holds go on now (tests that wait for events, not for the clock)."""
        with self._lock:
            released, self._release = self._release, threading.Event()
        released.set()

    # ----------------------------------------------------------------------------------------- requests in flight
    def request_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def request_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._idle.notify_all()

    def settle(self, timeout_s: float = 120.0) -> int:
        """Release held requests and wait until no API request is in flight; returns how many still are."""
        self.release_held()
        with self._lock:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout_s)
            return self._in_flight

    # ----------------------------------------------------------------------------------------- request log
    def record_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)
            self._counts[f"{entry['method']} {entry['template']}"] += 1

    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def request_counts(self) -> dict[str, int]:
        """Requests per "METHOD /templated/path", e.g. {"GET /beta/task-status/{id}": 2}."""
        with self._lock:
            return dict(self._counts)

    def clear_request_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._counts.clear()

    # ----------------------------------------------------------------------------------------- tasks
    def _insert_many(self, records: Sequence[TaskRecord]) -> None:
        for record in records:
            if record.id in self._records_by_id:
                raise ValueError(f"a task with id {record.id!r} already exists")
            self._records_by_id[record.id] = record
        self._records_sorted.extend(records)
        self._records_sorted.sort(key=lambda record: record.sort_key)

    def _insert(self, record: TaskRecord) -> None:
        if record.id in self._records_by_id:
            raise ValueError(f"a task with id {record.id!r} already exists")
        self._records_by_id[record.id] = record
        bisect.insort(self._records_sorted, record, key=lambda item: item.sort_key)

    def _advance_running(self) -> None:
        if not self._running:
            return
        moment = self.now()
        for record in list(self._running):
            record.advance(moment)
            if record.run is None:
                self._running.discard(record)

    def _is_retained(self, record: TaskRecord, moment: datetime) -> bool:
        return record.created_at >= moment - RETENTION

    def add_task(
        self,
        *,
        definition_type: str = "CLOUD_ACCOUNT_AGGREGATION",
        source_id: str | None = None,
        source_name: str | None = None,
        age_s: float = 0.0,
        completion_status: str | None = "SUCCESS",
        task_id: str | None = None,
        messages: list[dict[str, Any]] | None = None,
        **status_fields: Any,
    ) -> dict[str, Any]:
        """Add a task created `age_s` seconds ago; extra keyword arguments override TaskStatus fields."""
        definition_type = _normalise_definition_type(definition_type)
        if completion_status is not None:
            completion_status = normalise_completion_status(completion_status)
        with self._lock:
            source = self._source(source_id, source_name)
            record = make_task(
                task_id=task_id or secrets.token_hex(16),
                definition_type=definition_type,
                created=self.now() - timedelta(seconds=age_s),
                source=source,
                completion_status=completion_status,
                messages=messages,
            )
            unknown = set(status_fields) - set(record.status)
            if unknown:
                raise ValueError(f"unknown TaskStatus fields: {sorted(unknown)}")
            record.status.update(status_fields)
            if "created" in status_fields:
                record.created_at = parse_timestamp(status_fields["created"])
            self._insert(record)
            return record.ground_truth(expired=not self._is_retained(record, self.now()))

    def launch_task(
        self,
        *,
        definition_type: str = "CLOUD_ACCOUNT_AGGREGATION",
        source_id: str | None = None,
        source_name: str | None = None,
        duration_s: float = 5.0,
        completion_status: str = "SUCCESS",
        messages: list[dict[str, Any]] | None = None,
        launcher: str = "pat-0001-demo-client",
        complete_after_reads: int | None = None,
    ) -> dict[str, Any]:
        """Start a task now; it reports progress and completes by itself after `duration_s` seconds.

        With `complete_after_reads=N` it completes instead once the API has served it N times (by id or in a list).
        """
        definition_type = _normalise_definition_type(definition_type)
        final_status = normalise_completion_status(completion_status)
        if messages is None:
            messages = {
                "WARNING": [task_message("WARN", "Completed with warnings.", "task_warning")],
                "ERROR": [task_message("ERROR", "The task failed.", "task_error")],
            }.get(final_status, [])
        with self._lock:
            moment = self.now()
            record = make_task(
                task_id=secrets.token_hex(16),
                definition_type=definition_type,
                created=moment,
                source=self._source(source_id, source_name),
                completion_status=None,
                launcher=launcher,
            )
            record.status["launched"] = record.status["created"]
            reads = None if complete_after_reads is None else int(complete_after_reads)
            record.run = Run(moment, float(duration_s), final_status, messages, reads)
            self._insert(record)
            self._running.add(record)
            record.advance(moment)
            if record.run is None:
                self._running.discard(record)
            return record.ground_truth(expired=False)

    def generate(
        self,
        count: int,
        *,
        pending_fraction: float = 0.0,
        definition_types: Sequence[str] = DEFAULT_GENERATED_TYPES,
        sources: Sequence[Source] | None = None,
        span_days: float = 60.0,
        rng_seed: int = 1,
    ) -> int:
        """Add `count` generated tasks spread over the last `span_days` days; returns the new total."""
        types = [_normalise_definition_type(name) for name in definition_types]
        with self._lock:
            records = generate_tasks(
                count,
                self.now(),
                pending_fraction=pending_fraction,
                definition_types=types,
                sources=sources or DEMO_SOURCES,
                span_days=span_days,
                rng_seed=rng_seed + len(self._records_by_id),
            )
            self._insert_many(records)
            return len(self._records_by_id)

    def _source(self, source_id: str | None, source_name: str | None) -> Source | None:
        if source_id is None and source_name is None:
            return None
        for known in DEMO_SOURCES:
            if source_id in (known.id, None) and source_name in (known.name, None):
                return known
        return Source(source_id or secrets.token_hex(16), source_name or "Custom Source")

    def tasks(self) -> list[dict[str, Any]]:
        """Every task (also those past the 90-day window), with `_definitionType` and `_expired`."""
        with self._lock:
            self._advance_running()
            moment = self.now()
            return [copy.deepcopy(r.ground_truth(not self._is_retained(r, moment))) for r in self._records_sorted]

    def get_task_json(self, task_id: str) -> bytes | None:
        with self._lock:
            self._advance_running()
            record = self._records_by_id.get(task_id)
            if record is None or not self._is_retained(record, self.now()):
                return None
            body = record.to_json(self._config.timestamp_form)
            record.served(self.now())
            return body

    def list_tasks(
        self,
        version: ApiVersion,
        *,
        filter_tree: filters.Node | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int = 250,
        pending_only: bool = False,
    ) -> tuple[list[bytes], int]:
        """One page of serialized TaskStatus objects and the filtered total (for X-Total-Count)."""
        predicate = filters.compile_filter(filter_tree, RECORD_GETTERS) if filter_tree is not None else None
        with self._lock:
            self._advance_running()
            cutoff = self.now() - RETENTION
            start = bisect.bisect_left(self._records_sorted, cutoff, key=lambda record: record.created_at)
            candidates: Sequence[TaskRecord] = self._records_sorted[start:]
            if pending_only:
                candidates = [r for r in candidates if r.status["completionStatus"] is None]
            elif not version.list_includes_in_progress:
                candidates = [r for r in candidates if r.status["completionStatus"] is not None]
            if predicate is not None:
                candidates = [r for r in candidates if predicate(r)]
            total = len(candidates)
            ordered = candidates[::-1] if descending else candidates
            page = ordered[offset : offset + limit]
            bodies = [record.to_json(self._config.timestamp_form) for record in page]
            for record in page:
                record.served(self.now())
            return bodies, total

    def patch_task(self, task_id: str, operations: Any) -> bytes | None:
        """Apply a JSON Patch to a task; None when the task does not exist. Raises PatchError."""
        operations = checked_operations(operations)
        with self._lock:
            self._advance_running()
            record = self._records_by_id.get(task_id)
            if record is None or not self._is_retained(record, self.now()):
                return None
            patched = patched_status(record.status, operations, self._config.test_ops, self._config.timestamp_form)
            if patched != record.status:
                patched["modified"] = format_timestamp(self.now())
            record.status = patched
            if patched["completionStatus"] is not None:
                # A cleared (manually completed) task stops progressing on its own.
                record.run = None
                self._running.discard(record)
            record.invalidate()
            return record.to_json(self._config.timestamp_form)


def _normalise_definition_type(name: str) -> str:
    normalised = name.strip().upper().replace(" ", "_")
    if normalised not in TASK_DEFINITION_TYPES:
        raise ValueError(f"unknown task definition type {name!r}; known: {', '.join(TASK_DEFINITION_TYPES)}")
    return normalised
