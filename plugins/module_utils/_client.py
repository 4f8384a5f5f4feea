# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""The one HTTP client of the collection: tokens, retries, rate budget, paging, errors.

It knows nothing of AnsibleModule: modules and the lookup build a ``ClientConfig`` from their options and pass
a ``warn`` callable, so both faces share one core.
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import os
import random
import re
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from ._errors import (
    IscApiError,
    IscConfigError,
    IscConnectionError,
    IscError,
    IscMissingLibraryError,
    IscResponseError,
    error_for_status,
)
from ._filters import build_filter, matches, normalize_structured_filter, validate_sorters
from ._options import API_VERSION_CHOICES, both_from_environment, env_name, prefer_explicit
from ._versions import API_VERSIONS, DEFAULT_API_VERSION, ApiVersion

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import MaxRetryError, NameResolutionError
    from urllib3.util.retry import Retry
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: str | None = traceback.format_exc()
    Retry = object  # type: ignore[assignment,misc]
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

COLLECTION_VERSION = "1.0.0"
USER_AGENT = f"sailpoint.isc/{COLLECTION_VERSION} (Ansible collection)"
PAGE_SIZE = 250
# Positions each page re-reads of the one before it (see IscClient._pages).
PAGE_OVERLAP = 5
PAGE_CONCURRENCY = 4
RATE_WINDOW_SECONDS = 10.0
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PATH = "/oauth/token"
# Segments below /task-status that name other endpoints, not tasks.
RESERVED_PATH_SEGMENTS = frozenset({"pending-tasks"})
TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
VERSION_PATH_PATTERN = re.compile(r"/(beta|v3|v20\d\d|task-status|oauth)(/|$)")
# A 429 is retried after at least this long even when Retry-After says 0 (or is missing), and at most this
# many times, so a gateway that rounds its reset time down cannot turn retrying into a tight loop.
MIN_RATE_LIMITED_WAIT = 1.0
MAX_RATE_LIMITED_RETRIES = 100

Warn = Callable[[str], None]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    api_version: str = DEFAULT_API_VERSION
    client_id: str | None = None
    client_secret: str | None = None
    access_token: str | None = None
    validate_certs: bool = True
    ca_path: str | None = None
    timeout: float = 30.0
    retries: int = 5
    max_retry_wait: float = 120.0
    rate_limit: int = 95
    experimental_header: bool = True

    def __repr__(self) -> str:
        # Secrets stay out of any repr that might end up in a traceback or a debug line.
        return f"ClientConfig(base_url={self.base_url!r}, api_version={self.api_version!r}, client_id={self.client_id!r})"

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> ClientConfig:
        """Validate connection options (module params or plugin options); raise IscConfigError before any request.

        ``environ`` (default: this process's environment) tells values that came from SAIL_* variables from the
        ones set explicitly, which win.
        """
        environ = os.environ if environ is None else environ
        given = options
        options = prefer_explicit(options, environ)
        base_url = (options.get("base_url") or "").strip()
        tenant = (options.get("tenant") or "").strip()
        if base_url and tenant:
            raise _both_set_error("base_url", "tenant", given, environ)
        if tenant:
            if not TENANT_PATTERN.match(tenant):
                raise IscConfigError(
                    "tenant", f"'{tenant}' is not a tenant name.", "Give the name only (acme for https://acme.api.identitynow.com), or use base_url."
                )
            base_url = f"https://{tenant}.api.identitynow.com"
        if not base_url:
            raise IscConfigError("base_url", "no ISC tenant given.", "Set base_url (or the SAIL_BASE_URL environment variable), or tenant.")
        base_url = _validate_base_url(base_url)

        api_version = options.get("api_version") or DEFAULT_API_VERSION
        if api_version not in API_VERSIONS:
            raise IscConfigError("api_version", f"'{api_version}' is not a supported API version.", f"Use one of: {', '.join(API_VERSION_CHOICES)}.")

        client_id = options.get("client_id") or None
        client_secret = options.get("client_secret") or None
        access_token = options.get("access_token") or None
        if access_token and client_secret:
            raise _both_set_error("access_token", "client_secret", given, environ)
        if not access_token:
            if not client_id:
                raise IscConfigError(
                    "client_id", "no credentials given.", "Set client_id and client_secret (or SAIL_CLIENT_ID and SAIL_CLIENT_SECRET), or access_token."
                )
            if not client_secret:
                raise IscConfigError(
                    "client_secret", "client_id is set but client_secret is not.", "Set client_secret or the SAIL_CLIENT_SECRET environment variable."
                )

        timeout = _number(options, "timeout", 30.0, minimum=0.001)
        retries = int(_number(options, "retries", 5, minimum=0))
        max_retry_wait = _number(options, "max_retry_wait", 120.0, minimum=0)
        rate_limit = int(_number(options, "rate_limit", 95, minimum=0))
        validate_certs = options.get("validate_certs")
        ca_path = options.get("ca_path") or None
        if ca_path and not os.path.exists(ca_path):
            raise IscConfigError("ca_path", f"'{ca_path}' does not exist.", "Give a PEM CA bundle or a directory of CA certificates on the task's host.")
        if ca_path and validate_certs is False:
            raise IscConfigError(
                "ca_path",
                "ca_path and validate_certs: false contradict each other.",
                "Keep ca_path to verify the tenant against that CA, or drop it to skip verification.",
            )
        return cls(
            base_url=base_url,
            api_version=api_version,
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            validate_certs=True if validate_certs is None else bool(validate_certs),
            ca_path=ca_path,
            timeout=timeout,
            retries=retries,
            max_retry_wait=max_retry_wait,
            rate_limit=rate_limit,
            experimental_header=options.get("experimental_header") is not False,
        )


def _both_set_error(first: str, second: str, options: Mapping[str, Any], environ: Mapping[str, str]) -> IscConfigError:
    if both_from_environment(first, second, options, environ):
        return IscConfigError(
            first,
            f"the environment sets both {env_name(first)} and {env_name(second)}, which are mutually exclusive.",
            f"Unset one of them, or set {first} or {second} in the task to a value other than the environment's, which then wins.",
        )
    return IscConfigError(first, f"{first} and {second} are mutually exclusive.", "Set only one of them.")


def _number(options: Mapping[str, Any], name: str, default: float, minimum: float) -> float:
    value = options.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise IscConfigError(name, f"'{value}' is not a number.") from None
    if number < minimum:
        raise IscConfigError(name, f"{value} is below the minimum of {minimum:g}.")
    return number


def _validate_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IscConfigError("base_url", f"'{base_url}' is not an http(s) URL.", "Use the form https://acme.api.identitynow.com.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise IscConfigError(
            "base_url",
            f"plain http:// is refused for {parts.hostname}: credentials would travel unencrypted.",
            "Use https://; http:// is accepted only for loopback addresses (a local emulator).",
        )
    if parts.query or parts.fragment:
        raise IscConfigError("base_url", "the URL must not contain a query or fragment.", "Give the tenant's API root only.")
    if parts.username is not None or parts.password is not None:
        raise IscConfigError(
            "base_url",
            "the URL must not contain a user name or password.",
            "Give the tenant's API root only (https://acme.api.identitynow.com); credentials go in client_id and client_secret.",
        )
    path = parts.path.rstrip("/")
    if VERSION_PATH_PATTERN.search(path + "/"):
        raise IscConfigError(
            "base_url",
            f"'{base_url}' includes an API version or endpoint path.",
            "Give the tenant's API root (https://acme.api.identitynow.com) and choose the version with api_version.",
        )
    return f"{parts.scheme}://{parts.netloc}{path}"


def validate_task_id(task_id: Any, option: str = "id") -> str:
    """An id usable as one path segment below task-status: not a name ISC gives another endpoint there."""
    if not isinstance(task_id, str) or not TASK_ID_PATTERN.match(task_id) or ".." in task_id or task_id.lower() in RESERVED_PATH_SEGMENTS:
        raise IscConfigError(
            option,
            f"{task_id!r} is not a task id.",
            "Task ids are letters, digits, '-', '_', '.' or ':' (for example 2c9180835d2e5168015d32f890ca1581); to list pending tasks use "
            "sailpoint.isc.task_status_info with pending: true.",
        )
    return task_id


class _RateBudget:
    """Keeps this process under ``limit`` requests in any ``window`` seconds (sliding window)."""

    def __init__(self, limit: int, window: float = RATE_WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        if self.limit <= 0:
            return 0.0
        waited = 0.0
        with self._lock:
            while True:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return waited
                pause = self.window - (now - self._sent[0])
                time.sleep(pause)
                waited += pause


class _RetryWaitExhausted(Exception):
    pass


def _supported_retry_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """Drop Retry arguments the installed urllib3 does not know (1.26 lacks backoff_max and backoff_jitter)."""
    if not HAS_REQUESTS:
        return arguments
    accepted = inspect.signature(Retry.__init__).parameters
    return {name: value for name, value in arguments.items() if name in accepted}


class _IscRetry(Retry):  # type: ignore[misc,valid-type]
    """urllib3 Retry with ISC's rules.

    429 is retried on every method (the request was refused before any work), for as long as the total wait
    stays within ``max_total_wait``: ISC says when to come back, and several jobs sharing one client ID may
    need several rounds. 502/503/504 (at most ``server_error_retries`` times) and read errors are retried only
    on methods in ``allowed_methods`` (a PATCH that timed out may have been applied). Each retry is announced
    through ``on_retry``.
    """

    def __init__(
        self,
        *args: Any,
        max_total_wait: float = 120.0,
        waited: float = 0.0,
        server_error_retries: int = 5,
        on_retry: Callable[..., None] | None = None,
        before_resend: Callable[[], None] | None = None,
        planned_wait: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_total_wait = max_total_wait
        self.waited = waited
        self.server_error_retries = server_error_retries
        self.on_retry = on_retry
        self.before_resend = before_resend
        # The wait before the next attempt, decided once in increment: what is slept is what max_total_wait counts.
        self.planned_wait = planned_wait

    def new(self, **kw: Any) -> _IscRetry:
        kw.setdefault("max_total_wait", self.max_total_wait)
        kw.setdefault("waited", self.waited)
        kw.setdefault("server_error_retries", self.server_error_retries)
        kw.setdefault("on_retry", self.on_retry)
        kw.setdefault("before_resend", self.before_resend)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429:
            return True
        server_errors = sum(1 for attempt in self.history if attempt.status in (self.status_forcelist or ()))
        return server_errors < self.server_error_retries and super().is_retry(method, status_code, has_retry_after)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _IscRetry:
        if isinstance(error, NameResolutionError):
            # A host name that does not resolve is a typo in base_url far more often than a DNS hiccup: fail at once.
            raise MaxRetryError(_pool, url, error)
        new_retry = super().increment(method, url, response, error, _pool, _stacktrace)
        status = response.status if response is not None else None
        wait = self._plan_wait(new_retry, response)
        if status == 429 and sum(1 for attempt in new_retry.history if attempt.status == 429) > MAX_RATE_LIMITED_RETRIES:
            raise MaxRetryError(_pool, url, _RetryWaitExhausted(f"HTTP 429 {MAX_RATE_LIMITED_RETRIES + 1} times in a row"))
        if self.waited + wait > self.max_total_wait:
            # Name what went wrong, not only that the wait ran out; a timeout keeps its type for the caller.
            if error is not None:
                raise MaxRetryError(_pool, url, error)
            raise MaxRetryError(_pool, url, _RetryWaitExhausted(f"HTTP {status}; waiting {wait:.1f}s more would exceed max_retry_wait"))
        if self.on_retry is not None:
            cause = f"HTTP {status}" if status else type(error).__name__ if error else "an error"
            self.on_retry(method, url, cause, len(new_retry.history) + 1, wait, status == 429)
        return new_retry.new(waited=self.waited + wait, planned_wait=wait)

    @staticmethod
    def _plan_wait(retry: Retry, response: Any) -> float:
        """Retry-After when the answer has one, else urllib3's backoff (with its jitter); a 429 at least a second."""
        retry_after = retry.get_retry_after(response) if response is not None and retry.respect_retry_after_header else None
        wait = retry_after if retry_after is not None else retry.get_backoff_time()
        if response is not None and response.status == 429:
            wait = max(wait, MIN_RATE_LIMITED_WAIT)
            # A little jitter, so that jobs sharing one client ID do not all come back in the same instant.
            wait += random.uniform(0, min(1.0, 0.2 * wait))
        return wait

    def sleep(self, response: Any = None) -> None:
        # Replaces urllib3's own sleeping, which would draw its jitter again: sleep exactly what increment planned.
        if self.planned_wait > 0:
            time.sleep(self.planned_wait)
        if self.before_resend is not None:
            self.before_resend()


@dataclass
class _Token:
    value: str = field(repr=False)
    renew_at: float | None


class IscClient:
    """Talks to one ISC tenant on one API version."""

    def __init__(self, config: ClientConfig, warn: Warn | None = None, page_concurrency: int = PAGE_CONCURRENCY) -> None:
        if not HAS_REQUESTS:
            raise IscMissingLibraryError(
                "The Python library requests (and urllib3) is required on the host that runs this task; install it with pip install requests.",
                exception=REQUESTS_IMPORT_ERROR,
            )
        self.config = config
        self.version: ApiVersion = API_VERSIONS[config.api_version]
        self.page_concurrency = max(1, page_concurrency)
        self._warn = warn or (lambda message: None)
        self._budget = _RateBudget(config.rate_limit)
        self._token: _Token | None = _Token(config.access_token, None) if config.access_token else None
        self._token_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        # Attempts of the request in flight, per thread (pages are read in parallel); set by _send and _on_retry.
        self._attempt = threading.local()
        self.stats = {"requests": 0, "retries": 0, "token_requests": 0, "rate_limit_wait_s": 0.0}
        self._verify: bool | str = config.ca_path or config.validate_certs
        self._deprecation_warned = False
        self._session = self._build_session()

    # -- transport -------------------------------------------------------------------------------------------

    def _retry(self, allowed_methods: frozenset[str]) -> _IscRetry:
        arguments = _supported_retry_arguments(
            {
                "total": None,
                "connect": self.config.retries,
                "read": self.config.retries,
                "status": None,
                "redirect": False,
                "other": 0,
                "allowed_methods": allowed_methods,
                # 500 too: only idempotent requests get here, and a PATCH is never re-sent after a 5xx.
                "status_forcelist": frozenset({500, 502, 503, 504}),
                "backoff_factor": 0.5,
                "backoff_max": 30,
                "backoff_jitter": 0.25,
                "raise_on_status": False,
                "raise_on_redirect": False,
                "respect_retry_after_header": True,
            }
        )
        return _IscRetry(
            **arguments,
            max_total_wait=self.config.max_retry_wait,
            server_error_retries=self.config.retries,
            on_retry=self._on_retry,
            before_resend=self._wait_for_budget,
        )

    def _build_session(self) -> requests.Session:
        session = requests.Session()
        pool_size = max(10, self.page_concurrency * 2)
        session.mount(self.config.base_url, HTTPAdapter(max_retries=self._retry(IDEMPOTENT_METHODS), pool_maxsize=pool_size))
        # The token request has no side effect, so it may be repeated after a 5xx like a GET.
        session.mount(self.config.base_url + TOKEN_PATH, HTTPAdapter(max_retries=self._retry(IDEMPOTENT_METHODS | {"POST"})))
        session.headers.update({"User-Agent": f"{USER_AGENT} python-requests/{requests.__version__}", "Accept": "application/json"})
        if not self.config.ca_path and not self.config.validate_certs:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            self._warn("validate_certs is false: the TLS certificate of the ISC tenant is not verified. Use ca_path instead outside of tests.")
        return session

    def _on_retry(self, method: str | None, url: str | None, cause: str, attempt: int, wait: float, rate_limited: bool) -> None:
        self._attempt.count = attempt
        with self._stats_lock:
            self.stats["retries"] += 1
        path = urlsplit(url or "").path
        budget = f"attempt {attempt}; waits up to {self.config.max_retry_wait:g}s in all" if rate_limited else f"attempt {attempt} of {self.config.retries + 1}"
        self._warn(f"Retrying {method} {path} after {cause} ({budget}) in {wait:.1f}s.")

    def _wait_for_budget(self) -> None:
        """Block until the rate budget allows one more request: a first attempt or a retry alike."""
        waited = self._budget.acquire()
        if waited:
            self._count("rate_limit_wait_s", waited)

    def _count(self, key: str, amount: float = 1) -> None:
        with self._stats_lock:
            self.stats[key] += amount

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        self._wait_for_budget()
        self._count("requests")
        self._attempt.count = 1
        try:
            # verify is passed per request: requests lets REQUESTS_CA_BUNDLE override a session-level setting.
            return self._session.request(method, self.config.base_url + path, timeout=self.config.timeout, allow_redirects=False, verify=self._verify, **kwargs)
        except requests.exceptions.SSLError as err:
            reason = _reason(err)
            hint = "Give the CA bundle with ca_path (SAIL_CA_PATH), or validate_certs: false for a test tenant only."
            if "WRONG_VERSION_NUMBER" in reason or "record layer failure" in reason:
                hint = "The server does not speak TLS on that port: check the scheme (https://) and port of base_url."
            # Not retried (urllib3 counts it under "other", which is 0): a refused certificate will not change.
            raise IscConnectionError(f"TLS error talking to base_url {self.config.base_url} ({method} {path}): {reason}.", hint=hint) from None
        except requests.exceptions.Timeout as err:
            raise IscConnectionError(
                f"ISC API {method} {path} got no answer within {self.config.timeout:g}s {_attempts(self._attempt.count)}: {_reason(err)}.",
                hint="Raise timeout (SAIL_TIMEOUT) if the tenant is slow.",
            ) from None
        except requests.exceptions.ConnectionError as err:
            if _unresolved(err):
                host = urlsplit(self.config.base_url).hostname
                raise IscConnectionError(
                    f"The host name of base_url, {host}, does not resolve ({method} {path}).",
                    hint="Check base_url (SAIL_BASE_URL) for a typo: a tenant's API is https://<tenant>.api.identitynow.com.",
                ) from None
            if _timed_out(err):
                # A read timeout that used up the retries arrives as a ConnectionError wrapping urllib3's MaxRetryError.
                raise IscConnectionError(
                    f"ISC API {method} {path} got no answer within {self.config.timeout:g}s {_attempts(self._attempt.count)}: {_reason(err)}.",
                    hint="Raise timeout (SAIL_TIMEOUT) if the tenant is slow.",
                ) from None
            raise IscConnectionError(
                f"Could not complete ISC API {method} {path} on {self.config.base_url} {_attempts(self._attempt.count)}: {_reason(err)}.",
                hint="Check base_url, the network path and proxy settings (HTTPS_PROXY, NO_PROXY).",
            ) from None
        except requests.exceptions.RequestException as err:
            raise IscConnectionError(f"ISC API {method} {path} failed: {_reason(err)}.") from None

    # -- tokens ----------------------------------------------------------------------------------------------

    def _bearer(self) -> str:
        with self._token_lock:
            token = self._token
            if token is not None and (token.renew_at is None or time.monotonic() < token.renew_at):
                return token.value
            self._token = self._request_token()
            return self._token.value

    def _request_token(self) -> _Token:
        self._count("token_requests")
        data = {"grant_type": "client_credentials", "client_id": self.config.client_id, "client_secret": self.config.client_secret}
        response = self._send("POST", TOKEN_PATH, data=data)
        if response.status_code != 200:
            raise self._api_error("POST", TOKEN_PATH, response)
        body = self._json(response, "POST", TOKEN_PATH)
        value = body.get("access_token") if isinstance(body, dict) else None
        if not value:
            raise IscResponseError(f"ISC API POST {TOKEN_PATH} answered without an access_token.", hint="Check that base_url points at the tenant's API.")
        expires_in = body.get("expires_in")
        renew_at = None
        if isinstance(expires_in, (int, float)) and expires_in > 0:
            renew_at = time.monotonic() + expires_in - min(60.0, expires_in * 0.1)
        return _Token(value, renew_at)

    def _drop_token(self, rejected: str) -> bool:
        """Forget a rejected token; True when a new one can be requested."""
        if self.config.access_token:
            return False
        with self._token_lock:
            if self._token is not None and self._token.value == rejected:
                self._token = None
        return True

    # -- requests ----------------------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None, content_type: str | None = None
    ) -> requests.Response:
        """Send an authenticated API request; return the response for 2xx, raise an IscError otherwise."""
        headers = {}
        if self.config.experimental_header:
            headers["X-SailPoint-Experimental"] = "true"
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            headers["Content-Type"] = content_type or "application/json"
        relogged = False
        while True:
            bearer = self._bearer()
            headers["Authorization"] = f"Bearer {bearer}"
            response = self._send(method, path, **kwargs)
            if response.status_code == 401 and not relogged and self._drop_token(bearer):
                relogged = True
                continue
            if 200 <= response.status_code < 300:
                self._note_deprecation(method, path, response)
                return response
            raise self._api_error(method, path, response)

    def _note_deprecation(self, method: str, path: str, response: requests.Response) -> None:
        """One warning per client (one module run or lookup call) for an answer ISC marks deprecated."""
        if self._deprecation_warned or response.headers.get("X-Deprecated", "").strip().lower() != "true":
            return
        self._deprecation_warned = True
        self._warn(
            f"ISC marks {method} {path} as deprecated (X-Deprecated: true) on api_version {self.config.api_version}. "
            f"Set api_version: {DEFAULT_API_VERSION}, which lists pending tasks without it."
        )

    def _api_error(self, method: str, path: str, response: requests.Response) -> IscError:
        status = response.status_code
        if 300 <= status < 400:
            return IscResponseError(
                f"ISC API {method} {path} was redirected (HTTP {status}) to {response.headers.get('Location')!s}; redirects are not followed.",
                hint="Check base_url: use the tenant's https:// API URL.",
            )
        retries = getattr(response.raw, "retries", None)
        attempts = len(retries.history) + 1 if retries is not None and getattr(retries, "history", None) is not None else 1
        detail_code, tracking_id, text = _error_fields(response)
        error_class = error_for_status(status)
        hint = None
        if status == 401 and self.config.access_token:
            hint = "The access_token was refused; it may have expired. Give client_id and client_secret so tokens can be renewed."
        elif path == TOKEN_PATH and status in (404, 405):
            hint = (
                f"base_url ({self.config.base_url}) does not look like an ISC tenant's API: it has no token endpoint. "
                "Use the tenant's API URL, https://<tenant>.api.identitynow.com."
            )
        elif status == 401 and path == TOKEN_PATH:
            hint = "Check client_id and client_secret (SAIL_CLIENT_ID / SAIL_CLIENT_SECRET)."
            url_path = urlsplit(self.config.base_url).path
            if url_path:
                hint += f" Check base_url too: its path {url_path} is unusual, the tenant's API root (https://acme.api.identitynow.com) has none."
        elif status == 429:
            hint = (
                f"ISC kept answering 429 (rate limited) after {attempts} attempts. It allows 100 requests per 10 seconds per client_id and API "
                "version: lower rate_limit, run fewer jobs with this client_id at once, or raise retries / max_retry_wait."
            )
        return error_class(
            method=method,
            path=path,
            status=status,
            detail_code=detail_code,
            tracking_id=tracking_id,
            error_text=text,
            attempts=attempts,
            request_id=response.headers.get("SLPT-Request-ID"),
            hint=hint,
        )

    @staticmethod
    def _json(response: requests.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            content_type = response.headers.get("Content-Type", "unknown content type")
            raise IscResponseError(
                f"ISC API {method} {path} answered HTTP {response.status_code} with {content_type}, not JSON.",
                hint="A proxy or gateway may be answering instead of ISC; check base_url and proxy settings.",
            ) from None

    # -- task operations ---------------------------------------------------------------------------------------

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        path = self.version.task_path(validate_task_id(task_id))
        try:
            response = self.request("GET", path)
        except IscApiError as err:
            if err.status == 404:
                return None
            raise
        return self._json(response, "GET", path)

    def patch_task(self, task_id: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
        path = self.version.task_path(validate_task_id(task_id))
        response = self.request("PATCH", path, json_body=operations, content_type="application/json-patch+json")
        body = self._json(response, "PATCH", path)
        if not isinstance(body, dict) or "id" not in body:
            raise IscResponseError(f"ISC API PATCH {path} did not answer with the updated task.")
        return body

    def _filter_param(self, filters: Mapping[str, Any] | str | None, extra: Mapping[str, Any] | None = None) -> str | None:
        if isinstance(filters, str):
            if extra:
                rendered = build_filter(extra, self.version)
                return f"({filters}) and {rendered}" if filters.strip() else rendered
            return filters.strip() or None
        structured = {**(filters or {}), **(extra or {})}
        return build_filter(structured, self.version) if structured else None

    def iter_tasks(
        self, filters: Mapping[str, Any] | str | None = None, sorters: str | None = None, offset: int = 0, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every task the list endpoint returns for these filters, each once, in the service's order."""
        params: dict[str, Any] = {}
        filter_text = self._filter_param(filters)
        if filter_text:
            params["filters"] = filter_text
        # Oldest first unless asked otherwise: new tasks then land after the pages already read, so offsets stay stable.
        params["sorters"] = validate_sorters(sorters) or "created"
        return self._paged(self.version.list_path, params, offset, limit)

    def count_tasks(self, filters: Mapping[str, Any] | str | None = None) -> int:
        params: dict[str, Any] = {"count": "true", "limit": 1}
        filter_text = self._filter_param(filters)
        if filter_text:
            params["filters"] = filter_text
        return self._total(self.request("GET", self.version.list_path, params=params), self.version.list_path)

    def iter_pending_tasks(self, filters: Mapping[str, Any] | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """In-progress tasks: the list filtered on ``completionStatus isnull`` with the other filters sent to ISC, or on
        beta and v2024, whose list has finished tasks only, the deprecated pending-tasks endpoint (no filters there)."""
        if isinstance(filters, str):
            raise IscConfigError("filters", "a raw filter string cannot be combined with pending.", "Give filters in the structured form (a dictionary).")
        if self.version.list_includes_in_progress:
            params = {"filters": self._filter_param(filters, {"completionStatus": None}), "sorters": "created"}
            return self._paged(self.version.list_path, params, 0, limit)
        normalized = normalize_structured_filter(filters or {}, self.version)
        tasks = self._paged(self.version.pending_path, {}, 0, None if normalized else limit)
        if not normalized:
            return tasks
        return _take((task for task in tasks if matches(task, normalized)), limit)

    def count_pending_tasks(self, filters: Mapping[str, Any] | None = None) -> int:
        if self.version.list_includes_in_progress:
            return self.count_tasks(self._filter_param(filters, {"completionStatus": None}))
        if not filters:
            response = self.request("HEAD", self.version.pending_path, params={"count": "true"})
            return 0 if response.status_code == 204 else self._total(response, self.version.pending_path)
        return sum(1 for _task in self.iter_pending_tasks(filters))

    # -- paging ------------------------------------------------------------------------------------------------

    def _total(self, response: requests.Response, path: str) -> int:
        header = response.headers.get("X-Total-Count")
        try:
            return int(header) if header is not None else 0 if response.status_code == 204 else _missing_total(path)
        except ValueError:
            raise IscResponseError(f"ISC API {path} sent a non-numeric X-Total-Count ({header!r}).") from None

    def _page(self, path: str, params: Mapping[str, Any], offset: int, size: int, count: bool = False) -> tuple[list[dict[str, Any]], int | None]:
        page_params = {**params, "limit": size, "offset": offset}
        if count:
            page_params["count"] = "true"
        try:
            response = self.request("GET", path, params=page_params)
        except IscApiError as err:
            # Some ISC collections answer a request just past the last full page with "offset is invalid".
            if err.status == 400 and offset > 0 and "offset" in (err.error_text or "").lower():
                return [], None
            raise
        if response.status_code == 204 or not response.content:
            return [], 0 if count else None
        body = self._json(response, "GET", path)
        if not isinstance(body, list):
            raise IscResponseError(f"ISC API GET {path} answered with {type(body).__name__}, not a list of tasks.")
        total = self._total(response, path) if count and "X-Total-Count" in response.headers else None
        return body, total

    def _paged(self, path: str, params: Mapping[str, Any], offset: int, limit: int | None) -> Iterator[dict[str, Any]]:
        params = {key: value for key, value in params.items() if value is not None}
        return _take(_unique(self._pages(path, params, offset, limit)), limit)

    def _pages(self, path: str, params: Mapping[str, Any], offset: int, limit: int | None) -> Iterator[dict[str, Any]]:
        first_size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        first, total = self._page(path, params, offset, first_size, count=True)
        yield from first
        if len(first) < first_size:
            return
        read_to = offset + len(first)
        if total is None:
            yield from self._sequential_pages(path, params, read_to, None if limit is None else offset + limit - read_to)
            return
        end = total if limit is None else min(total, offset + limit)
        # Each later page starts PAGE_OVERLAP positions before the one before it ended: tasks leaving the front of the
        # list meanwhile (ISC's 90-day window) move the rest forward, and the overlap reads what moved. Repeats are
        # dropped by id.
        starts = list(range(read_to - PAGE_OVERLAP, end - PAGE_OVERLAP, PAGE_SIZE - PAGE_OVERLAP))
        if not starts:
            return
        with ThreadPoolExecutor(max_workers=self.page_concurrency) as pool:
            # A bounded window of pages in flight keeps memory flat and the order intact.
            pending = deque()
            for start in starts:
                pending.append(pool.submit(self._page, path, params, start, min(PAGE_SIZE, end - start)))
                if len(pending) >= self.page_concurrency * 2:
                    yield from pending.popleft().result()[0]
            while pending:
                yield from pending.popleft().result()[0]
        # Tasks added while listing land after the total read on the first page; read on until a short page.
        yield from self._sequential_pages(path, params, end, None if limit is None else offset + limit - end)

    def _sequential_pages(self, path: str, params: Mapping[str, Any], read_to: int, remaining: int | None) -> Iterator[dict[str, Any]]:
        """Pages from ``read_to`` on (``remaining`` positions at most), each reaching PAGE_OVERLAP back into a full page read before."""
        while remaining is None or remaining > 0:
            start = read_to - PAGE_OVERLAP
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining + PAGE_OVERLAP)
            page, _total = self._page(path, params, start, size)
            yield from page
            if len(page) < size:
                return
            read_to = start + len(page)
            if remaining is not None:
                remaining -= len(page) - PAGE_OVERLAP


def _unresolved(err: Exception) -> bool:
    reason = getattr(err.args[0], "reason", None) if err.args else None
    return isinstance(reason, NameResolutionError)


def _timed_out(err: Exception) -> bool:
    reason = getattr(err.args[0], "reason", None) if err.args else None
    return isinstance(reason, urllib3.exceptions.ReadTimeoutError)


def _attempts(count: int) -> str:
    return "after 1 attempt" if count == 1 else f"after {count} attempts"


def _unique(tasks: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    seen: set[Any] = set()
    for task in tasks:
        task_id = task.get("id") if isinstance(task, dict) else None
        if task_id is not None:
            if task_id in seen:
                continue
            seen.add(task_id)
        yield task


def _take(tasks: Iterator[dict[str, Any]], limit: int | None) -> Iterator[dict[str, Any]]:
    return tasks if limit is None else islice(tasks, limit)


def _missing_total(path: str) -> int:
    raise IscResponseError(f"ISC API {path} sent no X-Total-Count although count=true was asked.")


def _reason(err: Exception) -> str:
    """The innermost cause of a requests/urllib3 error, without URLs' query strings."""
    cause: Any = err
    while True:
        inner = getattr(cause, "reason", None) or (cause.args[0] if getattr(cause, "args", None) and isinstance(cause.args[0], Exception) else None)
        if inner is None or inner is cause:
            break
        cause = inner
    return re.sub(r"\?[^\s'\"]*", "", str(cause)) or type(cause).__name__


def _error_fields(response: requests.Response) -> tuple[str | None, str | None, str | None]:
    """detailCode, trackingId and a readable text from any of ISC's error shapes (or a non-JSON page)."""
    if not response.content:
        return None, None, None
    try:
        body = response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "").split(";")[0] or "unknown content type"
        title = re.search(r"<title>(.*?)</title>", response.text, re.IGNORECASE | re.DOTALL)
        page = f" titled '{title.group(1).strip()[:80]}'" if title else ""
        return None, None, f"the answer was a {content_type} page{page}, not ISC's JSON (a proxy or gateway may be answering)"
    if not isinstance(body, dict):
        return None, None, None
    texts = [message.get("text") for message in body.get("messages") or [] if isinstance(message, dict) and message.get("text")]
    for key in ("error_description", "error", "message"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            texts.append(value.strip())
    return body.get("detailCode"), body.get("trackingId"), "; ".join(dict.fromkeys(texts)) or None
