"""Helpers shared by the emulator's tests (a uniquely named module, so it never clashes with other conftests)."""

from __future__ import annotations

import json
from typing import Any

import requests

PAT_CLIENT = ("pat-0001-demo-client", "pat-demo-secret")
API_CLIENT = ("api-0002-demo-client", "api-demo-secret")
PATCH_HEADERS = {"Content-Type": "application/json-patch+json"}


class ApiSession:
    """A requests.Session that logs in with client credentials and calls paths relative to the emulator."""

    def __init__(self, base_url: str, client: tuple[str, str] = PAT_CLIENT, verify: Any = True) -> None:
        self.base_url = base_url
        self.client_id, self.secret = client
        self.session = requests.Session()
        # Passed per request: requests lets REQUESTS_CA_BUNDLE override a Session's own `verify`.
        self.verify = verify
        self._token: str | None = None

    def login(self) -> requests.Response:
        return self.session.post(
            f"{self.base_url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.secret},
            timeout=10,
            verify=self.verify,
        )

    @property
    def token(self) -> str:
        if self._token is None:
            response = self.login()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if auth:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("verify", self.verify)
        return self.session.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("HEAD", path, **kwargs)

    def patch(self, path: str, operations: Any, **kwargs: Any) -> requests.Response:
        headers = {**PATCH_HEADERS, **(kwargs.pop("headers", None) or {})}
        body = kwargs.pop("data", None)
        if body is None:
            body = json.dumps(operations)
        return self.request("PATCH", path, data=body, headers=headers, **kwargs)

    def list_all(self, list_path: str, **params: Any) -> list[dict[str, Any]]:
        response = self.get(list_path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


def allow_spec_violations(emu: Any) -> None:
    """For a test that breaks the vendor spec on purpose, to see the emulator's own answer to such a request.

    The suite's emulators validate every request and answer a violation with 400 before the emulator's own logic
    runs (and the shared fixtures fail the test); this turns validation off until the next reset.
    """
    emu.tenant.configure(validate_requests=False)
