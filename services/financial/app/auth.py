"""Access tokens from core, verified locally (HS256 secret or RS256 through JWKS), and the
per-endpoint permission check declared in the manifest."""

import asyncio
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import jwt
import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from contracts.auth import AUDIENCE, ISSUER, AccessClaims
from services.financial.app.errors import Forbidden, NotAuthenticated, NotFound


class TokenVerifier:
    """Checks signature, expiry, issuer and audience of a bearer token; never calls core."""

    def __init__(self, *, secret: str, algorithms: tuple[str, ...] = ("HS256",), jwks_url: str | None = None,
                 refetch_interval: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.secret = secret
        self.algorithms = list(algorithms)
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self.refetch_interval = refetch_interval
        self.clock = clock
        self._known_kids: set[str] = set()
        self._last_lookup: float | None = None

    async def _jwks_key(self, token: str) -> Any:
        """The signing key for `token`'s key id. A key id not seen before may make the JWKS be fetched
        again, but at most once per `refetch_interval` seconds whatever the tokens say (PyJWT 2.8-2.12
        refetched for every unknown key id: a flood of made-up ids became a flood of fetches). A key
        rotated in may therefore be refused for up to that interval after someone sent a made-up id."""
        assert self.jwks is not None
        kid = str(jwt.get_unverified_header(token).get("kid", ""))
        if kid not in self._known_kids:
            now = self.clock()
            if self._last_lookup is not None and now - self._last_lookup < self.refetch_interval:
                raise NotAuthenticated(f"the access token names an unknown signing key {kid[:40]!r}")
            self._last_lookup = now
        key = (await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)).key
        self._known_kids.add(kid)
        return key

    async def verify(self, token: str) -> AccessClaims:
        try:
            key: Any = self.secret
            if self.jwks is not None:
                key = await self._jwks_key(token)
            elif not self.secret:
                raise NotAuthenticated("this service has no JWT_SECRET_KEY, so it cannot verify tokens")
            raw = jwt.decode(
                token, key, algorithms=self.algorithms, audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "sub"]},
            )
            return msgspec.convert(raw, AccessClaims)
        except jwt.ExpiredSignatureError as exc:
            raise NotAuthenticated("the access token has expired; sign in again") from exc
        except (jwt.PyJWTError, msgspec.ValidationError) as exc:
            raise NotAuthenticated(f"the access token is not valid: {exc}") from exc


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send the access token from core as 'Authorization: Bearer <token>'")
    return token.strip()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard on every API route: verify the token and check the route has a permission.

    The company-specific check happens once the company is known (`require`), because the
    permission a user holds differs per company.
    """
    verifier: TokenVerifier = connection.app.state.verifier
    claims = await verifier.verify(bearer_token(connection))
    if claims.tenant_id is None and not claims.platform_admin:
        raise Forbidden("this token belongs to no tenant, and financial data always does")
    connection.scope["state"]["claims"] = claims  # type: ignore[typeddict-unknown-key]


def require(claims: AccessClaims, permission: str, company_id: UUID, *, hide: bool = False) -> None:
    """Refuse unless the user holds `permission` in `company_id`.

    A company the user does not belong to is reported as missing (404) when `hide` is set,
    so ids of other tenants' records reveal nothing.
    """
    if str(company_id) not in claims.companies and not claims.platform_admin:
        if hide:
            raise NotFound()
        raise Forbidden(f"you do not belong to company {company_id}")
    if not claims.can(permission, company_id):
        raise Forbidden(f"you need the permission {permission} in company {company_id}")


def tenant_of(claims: AccessClaims) -> UUID | None:
    """The tenant the caller may see (None only for platform admins: all tenants)."""
    return None if claims.platform_admin and claims.tenant_id is None else claims.tenant_id


async def module_enabled(connection: ASGIConnection[Any, Any, Any, Any], company_id: UUID) -> None:
    """Refuse (403 `module_disabled`) when core says the module is not enabled for the company.

    Every endpoint that touches a company's data calls it once the company is known, reads as
    well as writes: a disabled module does nothing for that company. The answer is cached and
    dropped when core publishes `core.module.*` events.
    """
    await connection.app.state.config.get(company_id)
