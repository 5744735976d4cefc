"""Access tokens: JWTs with contracts.auth.AccessClaims, signed by core alone with an asymmetric key.

Core holds one private key (Ed25519 → EdDSA by default, or RSA → RS256), read from
JWT_PRIVATE_KEY_FILE so every replica signs with the same key. Modules verify through the JWKS at
/api/v1/auth/jwks and hold no key that can sign. Each key is named by its RFC 7638 thumbprint (`kid`),
so the same file gives the same id on every replica and after every restart. Rotation: start core
with the new key and the old one in JWT_PREVIOUS_KEY_FILES; tokens signed by the old key verify (and
the JWKS lists it) until it is removed from that list, after the last of its tokens has expired.
There is no HS256: a shared secret would let every verifier mint tokens (docs/security.md).
"""

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from contracts.auth import AUDIENCE, ISSUER, AccessClaims
from services.core.app.errors import NotAuthenticated
from services.core.app.settings import Settings, SettingsError

_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 key id: SHA-256 over the key's required members, sorted, without whitespace."""
    members = {k: jwk[k] for k in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    algorithm: str
    key: Any
    jwk: dict[str, Any]


def public_key(key: Any) -> PublicKey:
    """The verifying half of an Ed25519 or RSA key (private or public), with its JWK and thumbprint."""
    if isinstance(key, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)):
        key = key.public_key()
    if isinstance(key, ed25519.Ed25519PublicKey):
        algorithm, jwk = "EdDSA", json.loads(OKPAlgorithm.to_jwk(key))
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise SettingsError("core's RSA signing keys must have at least 2048 bits")
        algorithm, jwk = "RS256", json.loads(RSAAlgorithm.to_jwk(key))
    else:
        raise SettingsError("core's token keys must be Ed25519 (EdDSA) or RSA (RS256)")
    kid = thumbprint(jwk)
    return PublicKey(kid=kid, algorithm=algorithm, key=key, jwk={**jwk, "kid": kid, "use": "sig", "alg": algorithm})


def load_key(path: str | Path) -> Any:
    """A PEM file holding a private key or a public key."""
    raw = Path(path).read_bytes()
    try:
        if b"PRIVATE KEY" in raw:
            return serialization.load_pem_private_key(raw, password=None)
        return serialization.load_pem_public_key(raw)
    except ValueError as exc:
        raise SettingsError(f"{path} is not a PEM key core can read: {exc}") from exc


def generate_key(algorithm: str) -> Any:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


class TokenService:
    """Signs with core's current key; verifies with it and with the previous keys still listed."""

    def __init__(self, settings: Settings) -> None:
        self.ttl = settings.access_token_ttl
        if settings.jwt_private_key_path is not None:
            private = load_key(settings.jwt_private_key_path)
            if not isinstance(private, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)):
                raise SettingsError("JWT_PRIVATE_KEY_FILE must hold an Ed25519 or RSA private key")
        else:  # tests and a single dev process; from_env refuses this outside dev mode (replicas would differ)
            private = generate_key(settings.jwt_algorithm)
        self._private = private
        current = public_key(private)
        self.kid, self.algorithm = current.kid, current.algorithm
        self._keys: dict[str, PublicKey] = {current.kid: current}
        for path in settings.jwt_previous_key_paths:
            previous = public_key(load_key(path))
            self._keys.setdefault(previous.kid, previous)

    def issue(self, claims: AccessClaims) -> str:
        now = int(time.time())
        stamped = msgspec.structs.replace(claims, iat=now, exp=now + self.ttl)
        return self.sign(msgspec.to_builtins(stamped))

    def sign(self, payload: dict[str, Any]) -> str:
        """Sign `payload` as it is with the current key (issue() stamps iat/exp first)."""
        return jwt.encode(payload, self._private, algorithm=self.algorithm, headers={"kid": self.kid})

    def verify(self, token: str) -> AccessClaims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            known = self._keys.get(kid) if isinstance(kid, str) else None
            if known is None:
                raise NotAuthenticated("The bearer token is not signed by a key core knows.")
            payload = jwt.decode(
                token, known.key, algorithms=[known.algorithm], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},  # a token without an expiry never ends
            )
            return msgspec.convert(payload, AccessClaims)
        except (jwt.PyJWTError, msgspec.ValidationError) as exc:
            raise NotAuthenticated(f"The bearer token is not valid: {exc}.") from exc

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys modules verify with: the current key first, then the previous ones."""
        return {"keys": [k.jwk for k in self._keys.values()]}
