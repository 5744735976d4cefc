"""Small helpers shared by the controllers: who is asking, and where the app's parts live."""

from typing import Any

from litestar import Request

from contracts.auth import AccessClaims
from services.financial.app.errors import NotAuthenticated


def claims_of(request: Request[Any, Any, Any]) -> AccessClaims:
    claims = request.scope["state"].get("claims")  # type: ignore[union-attr]
    if not isinstance(claims, AccessClaims):
        raise NotAuthenticated()
    return claims


def user_of(claims: AccessClaims) -> str:
    return claims.sub
