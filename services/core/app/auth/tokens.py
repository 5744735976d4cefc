"""Access tokens: JWTs with contracts.auth.AccessClaims, signed HS256 (shared secret) or RS256.

HS256 is the seed's mode: every module holds JWT_SECRET_KEY. RS256 keeps the signing key in
core alone; modules fetch the public key from the JWKS at /api/v1/auth/jwks.
"""

import json
import time
from typing import Any

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from contracts.auth import AUDIENCE, ISSUER, AccessClaims
from services.core.app.errors import NotAuthenticated
from services.core.app.settings import Settings


class TokenService:
    """Signs and verifies access tokens with the configured algorithm."""

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.ttl = settings.access_token_ttl
        self.kid = "core-1"
        self._public_jwk: dict[str, Any] | None = None
        if self.algorithm == "RS256":
            if settings.jwt_private_key_path is not None:
                pem = settings.jwt_private_key_path.read_bytes()
                private = serialization.load_pem_private_key(pem, password=None)
            else:
                private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            assert isinstance(private, rsa.RSAPrivateKey), "JWT_PRIVATE_KEY_FILE must hold an RSA key"
            self._sign_key: Any = private
            self._verify_key: Any = private.public_key()
            jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
            self._public_jwk = {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}
        else:
            self._sign_key = self._verify_key = settings.jwt_secret_key

    def issue(self, claims: AccessClaims) -> str:
        now = int(time.time())
        stamped = msgspec.structs.replace(claims, iat=now, exp=now + self.ttl)
        payload = msgspec.to_builtins(stamped)
        return jwt.encode(payload, self._sign_key, algorithm=self.algorithm, headers={"kid": self.kid})

    def verify(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token, self._verify_key, algorithms=[self.algorithm], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},  # a token without an expiry never ends
            )
            return msgspec.convert(payload, AccessClaims)
        except (jwt.PyJWTError, msgspec.ValidationError) as exc:
            raise NotAuthenticated(f"The bearer token is not valid: {exc}.") from exc

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Public keys for modules; empty in HS256 mode (the secret is never published)."""
        return {"keys": [self._public_jwk] if self._public_jwk else []}
