"""The OpenAPI document describes every answer: each JSON success response names a schema."""

from tests.services.financial.conftest import Harness


async def test_every_success_response_has_a_schema(shared: Harness) -> None:
    document = (await shared.client.get("/schema/openapi.json")).json()
    untyped = []
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1/financial"):
            continue
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2") or "content" not in response:
                    continue
                schema = response["content"]["application/json"]["schema"]
                if "$ref" not in schema and "$ref" not in schema.get("items", {}):
                    untyped.append(f"{method.upper()} {path} {status}")
    assert not untyped, untyped
    assert "Invoice" in document["components"]["schemas"]
