"""The kit's one handler map: constraint violations from a real database become the caller's
problem (409/422) in problem+json, and an unexpected error is a 500 that names no internals."""

import asyncpg
import httpx
import pytest
from litestar import Litestar, post

from modulekit.problems import PROBLEM_HANDLERS

SCHEMA = """
CREATE TABLE kit_parents (id int PRIMARY KEY);
CREATE TABLE kit_children (id int PRIMARY KEY, parent int REFERENCES kit_parents (id),
                           qty int CHECK (qty > 0), name text NOT NULL DEFAULT 'x');
INSERT INTO kit_parents VALUES (1);
INSERT INTO kit_children VALUES (1, 1, 1);
"""
STATEMENTS = {
    "unique": ("INSERT INTO kit_children VALUES (1, 1, 1)", 409, "conflict"),
    "foreign_key": ("INSERT INTO kit_children VALUES (2, 99, 1)", 409, "conflict"),
    "check": ("INSERT INTO kit_children VALUES (3, 1, -5)", 422, "unprocessable"),
    "not_null": ("INSERT INTO kit_children VALUES (4, 1, 1, NULL)", 422, "unprocessable"),
    "out_of_range": ("INSERT INTO kit_children VALUES (5, 1, 99999999999)", 400, "invalid-input"),
}


async def call(app: Litestar, path: str) -> httpx.Response:
    """POST on this event loop (the handlers share the test's asyncpg connection)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit") as client:
        return await client.post(path)


@pytest.mark.parametrize("case", sorted(STATEMENTS))
async def test_constraint_violations_are_the_caller_s_problem(database_url: str, case: str) -> None:
    sql, status, kind = STATEMENTS[case]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(SCHEMA)

        @post("/write")
        async def write() -> None:
            await conn.execute(sql)

        response = await call(Litestar([write], exception_handlers=PROBLEM_HANDLERS), "/write")
    finally:
        await conn.close()
    body = response.json()
    assert response.status_code == status and body["status"] == status, response.text
    assert body["type"] == f"urn:buildify:problem:{kind}"
    assert response.headers["content-type"] == "application/problem+json"
    assert "violates" not in body["detail"] and "out of range" not in body["detail"]  # Postgres's words stay in the log


async def test_an_unexpected_error_names_no_internals() -> None:
    @post("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at /srv/app/secret.py")

    response = await call(Litestar([boom], exception_handlers=PROBLEM_HANDLERS), "/boom")
    assert response.status_code == 500
    assert response.json() == {"type": "urn:buildify:problem:internal-error", "title": "Internal error",
                               "status": 500, "detail": "The service failed unexpectedly; the error was logged."}
