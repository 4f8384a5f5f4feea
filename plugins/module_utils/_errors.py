# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# FOR INTERNAL COLLECTION USE ONLY: not a public API, may change in any release.

"""One error hierarchy for the whole collection.

Every error renders itself for ``AnsibleModule.fail_json`` (``to_fail_json``) and for ``AnsibleError``
(``str(error)``), so modules end in a single ``except IscError`` and the lookup re-raises with the same text.
No error ever carries a secret: messages are built from method, path, status and ISC's error body only.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit


class IscError(Exception):
    """Base class of every error the collection raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None) -> None:
        self.message = message
        self.hint = hint
        self.details = dict(details or {})
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def to_fail_json(self) -> dict[str, Any]:
        """``fail_json`` keyword arguments: the message and every detail that has a value (documented as returned only then)."""
        result: dict[str, Any] = {"msg": str(self)}
        result.update((name, value) for name, value in self.details.items() if value is not None)
        return result


class IscConfigError(IscError):
    """An option is missing or invalid; raised before any request is sent."""

    def __init__(self, option: str, problem: str, fix: str | None = None) -> None:
        super().__init__(f"Invalid option '{option}': {problem}", hint=fix, details={"option": option})
        self.option = option


class IscMissingLibraryError(IscError):
    """A Python library the collection needs is not installed where the task runs."""

    def __init__(self, message: str, exception: str | None = None) -> None:
        super().__init__(message, details={"exception": exception} if exception else None)


class IscConnectionError(IscError):
    """The service could not be reached (refused, reset, timed out, TLS) after the allowed attempts."""


class IscResponseError(IscError):
    """The service answered with something that is not what the API documents (e.g. an HTML proxy page)."""


class IscApiError(IscError):
    """ISC answered with an error status."""

    default_hint: str | None = None

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int,
        detail_code: str | None = None,
        tracking_id: str | None = None,
        error_text: str | None = None,
        attempts: int = 1,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.detail_code = detail_code
        self.tracking_id = tracking_id
        self.error_text = error_text
        self.attempts = attempts
        parts = [f"ISC API {method} {path} failed with HTTP {status}"]
        if detail_code:
            parts.append(f"detailCode '{detail_code}'")
        if tracking_id:
            parts.append(f"trackingId {tracking_id}")
        if request_id:
            parts.append(f"request id {request_id}")
        message = ", ".join(parts)
        if error_text:
            message += f": {error_text.rstrip('. ')}"
        if attempts > 1:
            message += f" (after {attempts} attempts)"
        message += "."
        details = {
            "status": status,
            "detail_code": detail_code,
            "tracking_id": tracking_id,
            "attempts": attempts,
            "method": method,
            "path": path,
        }
        super().__init__(message, hint=hint or self.default_hint, details=details)


class IscBadRequestError(IscApiError):
    default_hint = "ISC refused the request as invalid; check the filters and values named above."


class IscAuthenticationError(IscApiError):
    default_hint = "Check client_id and client_secret (SAIL_CLIENT_ID / SAIL_CLIENT_SECRET) or the access_token; an access token may have expired."


class IscForbiddenError(IscApiError):
    """403: what the call needs, from the security section of the vendor specs (updateTaskStatus, getTaskStatus...)."""

    def __init__(self, *, method: str, hint: str | None = None, **kwargs: Any) -> None:
        super().__init__(method=method, hint=hint or (PATCH_RIGHTS if method == "PATCH" else READ_RIGHTS), **kwargs)


READ_RIGHTS = (
    "Reading task status needs the scope idn:task-management:read (or :write, or sp:scopes:all) and a user level "
    "among ORG_ADMIN, HELPDESK, CERT_ADMIN, REPORT_ADMIN, ROLE_ADMIN, ROLE_SUBADMIN, SOURCE_ADMIN, SOURCE_SUBADMIN."
)
PATCH_RIGHTS = (
    "Updating a task needs a personal access token (a user context; an API client is refused) with the scope "
    "idn:task-management:write (or sp:scopes:all), of a user level among ORG_ADMIN, CERT_ADMIN, REPORT_ADMIN, "
    "ROLE_ADMIN, ROLE_SUBADMIN, SOURCE_ADMIN, SOURCE_SUBADMIN (not HELPDESK)."
)


class IscNotFoundError(IscApiError):
    default_hint = "The task id is unknown, or the task is older than 90 days (ISC returns no data for those)."


class IscRateLimitError(IscApiError):
    default_hint = (
        "ISC allows 100 requests per 10 seconds per client_id and API version; lower rate_limit, run fewer "
        "jobs with the same client_id at once, or raise retries / max_retry_wait."
    )


class IscServerError(IscApiError):
    default_hint = "ISC had an internal problem; retry later, and quote the trackingId to SailPoint support if it persists."


class IscTaskError(IscError):
    """A task reached a state the user asked to treat as failure (e.g. ERROR after waiting)."""

    def __init__(self, message: str, task: dict[str, Any] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, details={"task": task} if task is not None else None)
        self.task = task


class IscWaitTimeoutError(IscTaskError):
    """A wait ran out of time; carries the last state seen."""


RERUN_IS_SAFE = (
    "Running again is safe: the PATCH is guarded by test operations, so it changes the task only while the task is "
    "as it was read, and a change ISC did apply is read back, not sent twice."
)
RERUN_UNGUARDED = (
    "Running again reads the task first: a change ISC did apply is read back, not sent twice. This PATCH was sent "
    "without test operations (guard), so check the task in ISC first if it may have finished by itself meanwhile."
)


class IscUnconfirmedPatchError(IscError):
    """ISC's answer to a PATCH was lost (timeout, dropped connection, 5xx, an unusable answer) and the change is not confirmed.

    Keeps the details of the lost answer (``status``, ``tracking_id``, ...) so results can still name them.
    """

    def __init__(self, lost: IscError, message: str, *, task: dict[str, Any] | None = None, guarded: bool = True) -> None:
        details = dict(lost.details)
        if task is not None:
            details["task"] = task
        rerun = RERUN_IS_SAFE if guarded else RERUN_UNGUARDED
        super().__init__(f"{lost.message} {message}", hint=f"{lost.hint} {rerun}" if lost.hint else rerun, details=details)
        self.lost = lost


class IscPatchOutcomeUnknownError(IscUnconfirmedPatchError):
    """The task could not be read again after a lost PATCH answer, so whether ISC applied the change is unknown."""


ERRORS_BY_STATUS: dict[int, type[IscApiError]] = {
    400: IscBadRequestError,
    401: IscAuthenticationError,
    403: IscForbiddenError,
    404: IscNotFoundError,
    429: IscRateLimitError,
}


def error_for_status(status: int) -> type[IscApiError]:
    return ERRORS_BY_STATUS.get(status) or (IscServerError if status >= 500 else IscApiError)


def error_from_response(method: str, path: str, response: Any, attempts: int, base_url: str, *, token_given: bool, token_request: bool = False) -> IscError:
    """The error for an answer that is not 2xx (``response`` is a requests Response), with a hint that fits it."""
    status = response.status_code
    if 300 <= status < 400:
        return IscResponseError(
            f"ISC API {method} {path} was redirected (HTTP {status}) to {response.headers.get('Location')!s}; redirects are not followed.",
            hint="Check base_url: use the tenant's https:// API URL.",
        )
    hint = None
    if status == 401 and token_given:
        hint = "The access_token was refused; it may have expired. Give client_id and client_secret so tokens can be renewed."
    elif token_request and status in (404, 405):
        hint = (
            f"base_url ({base_url}) does not look like an ISC tenant's API: it has no token endpoint. "
            "Use the tenant's API URL, https://<tenant>.api.identitynow.com."
        )
    elif token_request and status == 401:
        hint = "Check client_id and client_secret (SAIL_CLIENT_ID / SAIL_CLIENT_SECRET)."
        url_path = urlsplit(base_url).path
        if url_path:
            hint += f" Check base_url too: its path {url_path} is unusual, the tenant's API root (https://acme.api.identitynow.com) has none."
    elif status == 429:
        hint = f"ISC kept answering 429 (rate limited) after {attempts} attempt{'s' if attempts > 1 else ''}. {IscRateLimitError.default_hint}"
    detail_code, tracking_id, text = _error_fields(response)
    return error_for_status(status)(
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


def _error_fields(response: Any) -> tuple[str | None, str | None, str | None]:
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
