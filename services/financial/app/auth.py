"""Access tokens from core, verified locally with core's public keys (JWKS), and the per-endpoint
permission check declared in the manifest. The module holds no key that can sign a token."""

import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import jwt
import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from contracts.auth import AUDIENCE, ISSUER, AccessClaims
from services.financial.app.errors import Forbidden, NotAuthenticated, NotFound


class TokenVerifier:
    """Checks signature, expiry, issuer and audience of a bearer token against core's JWKS.

    The JWKS is fetched from core when a token names a key id not seen yet, or when the keys held are
    older than `max_age` (so a key core rotated out stops verifying here too), but at most once per
    `refetch_interval` seconds whatever the tokens say: a flood of made-up key ids is not a flood of
    fetches. A key rotated in may therefore be refused for up to that interval after someone sent a
    made-up id. Only asymmetric algorithms are accepted, each only with a key of its own kind.
    """

    def __init__(self, http: httpx.AsyncClient, jwks_url: str, *, algorithms: tuple[str, ...] = ("EdDSA", "RS256"),
                 refetch_interval: float = 30.0, max_age: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.http = http
        self.jwks_url = jwks_url
        self.algorithms = [a for a in algorithms if a in {"EdDSA", "RS256", "RS384", "RS512", "ES256", "ES384"}]
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_lookup: float | None = None

    async def _fetch(self) -> None:
        try:
            response = await self.http.get(self.jwks_url, timeout=5.0)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            if not self._keys:
                raise NotAuthenticated(f"core's signing keys could not be fetched: {type(exc).__name__}") from exc
            return  # keep the keys held; core being briefly away must not sign everyone out
        self._keys = {str(k.key_id): k for k in keys if k.key_id}
        self._fetched_at = self.clock()

    async def _key(self, token: str) -> jwt.PyJWK:
        kid = str(jwt.get_unverified_header(token).get("kid", ""))
        now = self.clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self.max_age
        allowed = self._last_lookup is None or now - self._last_lookup >= self.refetch_interval
        if (kid not in self._keys or stale) and allowed:
            self._last_lookup = now
            await self._fetch()
        key = self._keys.get(kid)
        if key is None:
            raise NotAuthenticated(f"the access token names an unknown signing key {kid[:40]!r}")
        return key

    async def verify(self, token: str) -> AccessClaims:
        try:
            key = await self._key(token)
            algorithms = [a for a in self.algorithms if a == (key.algorithm_name or "")]
            raw = jwt.decode(
                token, key.key, algorithms=algorithms or ["-none-"], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "sub"]},
            )
            return msgspec.convert(raw, AccessClaims)
        except jwt.ExpiredSignatureError as exc:
            raise NotAuthenticated("the access token has expired; refresh it at core") from exc
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
