"""What every service's hostile-input tests send and check: the bodies, and the problem+json answer."""

import httpx

DEEP = b"[" * 20_000 + b"]" * 20_000
JSON = {"content-type": "application/json"}


def assert_problem(r: httpx.Response, status: int, *words: str) -> None:
    """`r` is an RFC 9457 problem with `status` whose detail names each of `words`."""
    assert r.status_code == status, r.text
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == status
    for word in words:
        assert word in body["detail"], body["detail"]
