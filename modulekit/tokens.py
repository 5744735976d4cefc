"""Access tokens from core, verified locally with core's public keys (JWKS). A service holds
no key that can sign a token, so a leaked module cannot mint one."""

import time
from collections.abc import Callable

import httpx
import jwt
import msgspec

from contracts.auth import AUDIENCE, ISSUER, AccessClaims
from modulekit.errors import Unauthorized

ASYMMETRIC = frozenset({"EdDSA", "RS256", "RS384", "RS512", "ES256", "ES384"})


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
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.jwks_url = jwks_url
        self.algorithms = [a for a in algorithms if a in ASYMMETRIC]
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
                raise Unauthorized(f"core's signing keys could not be fetched: {type(exc).__name__}") from exc
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
            raise Unauthorized(f"the access token names an unknown signing key {kid[:40]!r}")
        return key

    async def verify(self, token: str) -> AccessClaims:
        """The token's claims, or `Unauthorized` saying what is wrong with it."""
        try:
            key = await self._key(token)
            algorithms = [a for a in self.algorithms if a == (key.algorithm_name or "")]
            raw = jwt.decode(
                token, key.key, algorithms=algorithms or ["-none-"], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "sub"]},
            )
            return msgspec.convert(raw, AccessClaims)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the access token has expired; refresh it at core") from exc
        except (jwt.PyJWTError, msgspec.ValidationError) as exc:
            raise Unauthorized(f"the access token is not valid: {exc}") from exc
