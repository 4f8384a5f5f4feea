# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""The transport: session and TLS, retries, pacing and the token. Every request to ISC goes through ``request``.

Retry policy (docs/architecture.md): requests that got no answer (refused, reset, timed out) are resent by urllib3's
``Retry``, with one small override that reports each retry; answers are retried by a short loop in ``_answer``:
429 on every method (ISC refused before doing any work) after its Retry-After, at least a second; 500, 502, 503
and 504 only where resending is safe (reads and the token request, never a PATCH). All retries of one request
wait ``max_retry_wait`` seconds in all at most, and every attempt passes the rate budget.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._errors import IscConnectionError, IscMissingLibraryError, IscResponseError, error_from_response
from ._pacing import RateBudget
from ._settings import ClientConfig
from ._versions import DEFAULT_API_VERSION

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import InvalidHeader, MaxRetryError, NameResolutionError, ReadTimeoutError
    from urllib3.util.retry import Retry
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: str | None = traceback.format_exc()
    Retry = object  # type: ignore[assignment,misc]
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

USER_AGENT = "sailpoint.isc (Ansible collection)"
TOKEN_PATH = "/oauth/token"
# Resent after a 5xx or a read error: reads, and POST, which this client sends only to ask for a token.
SAFE_TO_RESEND = frozenset({"GET", "HEAD", "POST"})
SERVER_ERRORS = frozenset({500, 502, 503, 504})
BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 30.0
# A 429 waits at least this long even when Retry-After says 0 (or is missing), and is retried at most this many
# times, so a gateway that rounds its reset time down cannot turn retrying into a tight loop.
MIN_RATE_LIMITED_WAIT = 1.0
MAX_RATE_LIMITED_RETRIES = 100

Warn = Callable[[str], None]


class CallbackRetry(Retry):  # type: ignore[misc,valid-type]
    """urllib3's Retry that tells ``callback`` of each retry it grants (the callback may refuse it by raising), and
    gives up at once on a host name that does not resolve: a typo in base_url far more often than a DNS hiccup."""

    def __init__(self, *args: Any, callback: Callable[..., None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.callback = callback

    def new(self, **kwargs: Any) -> CallbackRetry:
        kwargs.setdefault("callback", self.callback)
        return super().new(**kwargs)

    def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None, _pool: Any = None, _stacktrace: Any = None) -> Any:
        if isinstance(error, NameResolutionError):
            raise MaxRetryError(_pool, url, error)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.callback is not None:
            self.callback(method, url, error, _pool)
        return retry


@dataclass
class _Attempts:
    """One request's attempts so far, resends after no answer among them, and the seconds waited between them."""

    sent: int = 0
    resends: int = 0
    waited: float = 0.0


@dataclass
class Token:
    value: str = field(repr=False)
    renew_at: float | None


class Transport:
    """One tenant's session: authenticated, paced, retried requests with errors mapped to ``IscError``."""

    def __init__(self, config: ClientConfig, warn: Warn | None = None, pool_size: int = 10) -> None:
        if not HAS_REQUESTS:
            raise IscMissingLibraryError(
                "The Python library requests is required on the host that runs this task; install it with pip install requests.",
                exception=REQUESTS_IMPORT_ERROR,
            )
        self.config = config
        self.warn = warn or (lambda message: None)
        self.budget = RateBudget(config.rate_limit)
        self._token: Token | None = Token(config.access_token, None) if config.access_token else None
        self._token_lock = threading.Lock()
        # The attempts of the request in flight, per thread (pages are read in parallel).
        self._local = threading.local()
        self._deprecation_warned = False
        self._session = requests.Session()
        # urllib3 decides what may be resent; _on_resend counts, waits and paces (urllib3 itself waits nothing: no backoff_factor).
        retry = CallbackRetry(total=None, connect=config.retries, read=config.retries, other=0, allowed_methods=SAFE_TO_RESEND, callback=self._on_resend)
        self._session.mount(config.base_url, HTTPAdapter(max_retries=retry, pool_maxsize=pool_size))
        self._session.headers.update({"User-Agent": f"{USER_AGENT} python-requests/{requests.__version__}", "Accept": "application/json"})
        if not config.ca_path and not config.validate_certs:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            self.warn("validate_certs is false: the TLS certificate of the ISC tenant is not verified. Use ca_path instead outside of tests.")

    def request(self, method: str, path: str, *, params: Any = None, json_body: Any = None, content_type: str | None = None) -> requests.Response:
        """Send an authenticated API request; return the response for 2xx, raise an IscError otherwise."""
        headers = {"X-SailPoint-Experimental": "true"} if self.config.experimental_header else {}
        data = None
        if json_body is not None:
            data = json.dumps(json_body)
            headers["Content-Type"] = content_type or "application/json"
        for relogged in (False, True):
            bearer = self._bearer()
            response, attempts = self._answer(method, path, params=params, data=data, headers={**headers, "Authorization": f"Bearer {bearer}"})
            # One new token after a 401: it may have expired in flight.
            if response.status_code != 401 or relogged or not self._drop_token(bearer):
                break
        if not 200 <= response.status_code < 300:
            raise error_from_response(method, path, response, attempts, self.config.base_url, token_given=bool(self.config.access_token))
        self._note_deprecation(method, path, response)
        return response

    def _answer(self, method: str, path: str, **kwargs: Any) -> tuple[requests.Response, int]:
        """The first answer not to retry, and the number of attempts it took (resends after no answer included)."""
        attempts = self._local.attempts = _Attempts()
        rate_limited = server_errors = 0
        while True:
            response = self._send(method, path, **kwargs)
            status = response.status_code
            if status == 429:
                rate_limited += 1
                retry = rate_limited <= MAX_RATE_LIMITED_RETRIES
            else:
                server_errors += status in SERVER_ERRORS
                retry = status in SERVER_ERRORS and method in SAFE_TO_RESEND and server_errors <= self.config.retries
            wait = retry_wait(response, rate_limited if status == 429 else server_errors) if retry else 0.0
            if not retry or attempts.waited + wait > self.config.max_retry_wait:
                return response, attempts.sent
            if status == 429:
                budget = f"attempt {attempts.sent + 1}; waits up to {self.config.max_retry_wait:g}s in all"
            else:
                budget = f"retry {server_errors} of {self.config.retries}"
            self.warn(f"Retrying {method} {path} after HTTP {status} ({budget}) in {wait:.1f}s.")
            attempts.waited += wait
            time.sleep(wait)

    def _on_resend(self, method: str | None, url: str | None, error: Exception | None, pool: Any) -> None:
        """urllib3 resends a request that got no answer: at most ``retries`` times per request, within max_retry_wait."""
        attempts = self._local.attempts
        attempts.resends += 1
        wait = backoff(attempts.resends)
        if attempts.resends > self.config.retries or attempts.waited + wait > self.config.max_retry_wait:
            raise MaxRetryError(pool, url, error)
        path = urlsplit(url or "").path
        self.warn(f"Retrying {method} {path} after {type(error).__name__} (retry {attempts.resends} of {self.config.retries}) in {wait:.1f}s.")
        attempts.waited += wait
        time.sleep(wait)
        self.budget.acquire()
        attempts.sent += 1

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        self.budget.acquire()
        self._local.attempts.sent += 1
        try:
            # verify is passed per request: requests lets REQUESTS_CA_BUNDLE override a session-level setting.
            verify = self.config.ca_path or self.config.validate_certs
            return self._session.request(method, self.config.base_url + path, timeout=self.config.timeout, allow_redirects=False, verify=verify, **kwargs)
        except requests.exceptions.RequestException as err:
            raise connection_error(self.config, method, path, err, self._local.attempts.sent) from None

    def _bearer(self) -> str:
        with self._token_lock:
            token = self._token
            if token is None or (token.renew_at is not None and time.monotonic() >= token.renew_at):
                token = self._token = self._request_token()
            return token.value

    def _request_token(self) -> Token:
        data = {"grant_type": "client_credentials", "client_id": self.config.client_id, "client_secret": self.config.client_secret}
        response, attempts = self._answer("POST", TOKEN_PATH, data=data)
        if response.status_code != 200:
            raise error_from_response("POST", TOKEN_PATH, response, attempts, self.config.base_url, token_given=False, token_request=True)
        body = json_body(response, "POST", TOKEN_PATH)
        value = body.get("access_token") if isinstance(body, dict) else None
        if not value:
            raise IscResponseError(f"ISC API POST {TOKEN_PATH} answered without an access_token.", hint="Check that base_url points at the tenant's API.")
        expires_in = body.get("expires_in")
        if isinstance(expires_in, (int, float)) and expires_in > 0:
            return Token(value, time.monotonic() + expires_in - min(60.0, expires_in * 0.1))
        return Token(value, None)

    def _drop_token(self, rejected: str) -> bool:
        """Forget a rejected token; True when a new one can be requested."""
        if self.config.access_token:
            return False
        with self._token_lock:
            if self._token is not None and self._token.value == rejected:
                self._token = None
        return True

    def _note_deprecation(self, method: str, path: str, response: requests.Response) -> None:
        """One warning per client (one module run or lookup call) for an answer ISC marks deprecated."""
        if self._deprecation_warned or response.headers.get("X-Deprecated", "").strip().lower() != "true":
            return
        self._deprecation_warned = True
        self.warn(
            f"ISC marks {method} {path} as deprecated (X-Deprecated: true) on api_version {self.config.api_version}. "
            f"Set api_version: {DEFAULT_API_VERSION}, which lists pending tasks without it."
        )


def connection_error(config: ClientConfig, method: str, path: str, err: Exception, attempt: int) -> IscConnectionError:
    """The error for a request that got no answer: what failed, after how many attempts, and what to check."""
    causes = _causes(err)
    # The innermost cause, without URLs' query strings.
    reason = re.sub(r"\?[^\s'\"]*", "", str(causes[-1])) or type(causes[-1]).__name__
    attempts = "after 1 attempt" if attempt == 1 else f"after {attempt} attempts"
    if isinstance(err, requests.exceptions.SSLError):
        hint = "Give the CA bundle with ca_path (SAIL_CA_PATH), or validate_certs: false for a test tenant only."
        if "WRONG_VERSION_NUMBER" in reason or "record layer failure" in reason:
            hint = "The server does not speak TLS on that port: check the scheme (https://) and port of base_url."
        # Not retried (urllib3 counts it under "other", which is 0): a refused certificate will not change.
        return IscConnectionError(f"TLS error talking to base_url {config.base_url} ({method} {path}): {reason}.", hint=hint)
    if any(isinstance(cause, NameResolutionError) for cause in causes):
        return IscConnectionError(
            f"The host name of base_url, {urlsplit(config.base_url).hostname}, does not resolve ({method} {path}).",
            hint="Check base_url (SAIL_BASE_URL) for a typo: a tenant's API is https://<tenant>.api.identitynow.com.",
        )
    if isinstance(err, requests.exceptions.Timeout) or any(isinstance(cause, ReadTimeoutError) for cause in causes):
        return IscConnectionError(
            f"ISC API {method} {path} got no answer within {config.timeout:g}s {attempts}: {reason}.",
            hint="Raise timeout (SAIL_TIMEOUT) if the tenant is slow.",
        )
    if isinstance(err, requests.exceptions.ConnectionError):
        return IscConnectionError(
            f"Could not complete ISC API {method} {path} on {config.base_url} {attempts}: {reason}.",
            hint="Check base_url, the network path and proxy settings (HTTPS_PROXY, NO_PROXY).",
        )
    return IscConnectionError(f"ISC API {method} {path} failed: {reason}.")


def backoff(retry: int) -> float:
    """Seconds before the ``retry``-th retry: 0.5, 1, 2, 4 ... at most BACKOFF_MAX."""
    return min(BACKOFF_MAX, BACKOFF_FACTOR * 2 ** max(retry - 1, 0))


def retry_wait(response: requests.Response, retries: int) -> float:
    """Before the ``retries``-th retry of this answer: its Retry-After, else backoff; a 429 waits a second at least,
    plus jitter, so that jobs sharing one client ID do not all come back in the same instant."""
    try:
        wait = Retry().parse_retry_after(response.headers["Retry-After"])
    except (KeyError, InvalidHeader):
        wait = backoff(retries)
    if response.status_code == 429:
        wait = max(wait, MIN_RATE_LIMITED_WAIT)
        wait += random.uniform(0, min(1.0, 0.2 * wait))
    return wait


def json_body(response: requests.Response, method: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "unknown content type")
        raise IscResponseError(
            f"ISC API {method} {path} answered HTTP {response.status_code} with {content_type}, not JSON.",
            hint="A proxy or gateway may be answering instead of ISC; check base_url and proxy settings.",
        ) from None


def _causes(err: Exception) -> list[Exception]:
    """The chain of causes of a requests/urllib3 error, outermost first."""
    chain = [err]
    while True:
        cause = chain[-1]
        inner = getattr(cause, "reason", None) or (cause.args[0] if getattr(cause, "args", None) and isinstance(cause.args[0], Exception) else None)
        if not isinstance(inner, Exception) or inner in chain:
            return chain
        chain.append(inner)
