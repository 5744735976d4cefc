"""Tokens naming unknown key ids must not make the module hammer core's JWKS (issue 11, finding 6)."""

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from contracts.auth import AUDIENCE, ISSUER
from modulekit.errors import Unauthorized
from modulekit.tokens import TokenVerifier

pytestmark = pytest.mark.security

FAR_FUTURE = 4_102_444_800
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLISHED: list[str] = []  # the key ids the JWKS endpoint lists (one key, several names)


@pytest.fixture
def jwks() -> Iterator[tuple[str, list[int]]]:
    """A JWKS endpoint with one key (kid "core-1") that counts how often it is fetched."""
    fetches: list[int] = []
    PUBLISHED[:] = ["core-1"]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(1)
            body = json.dumps({"keys": [{**json.loads(RSAAlgorithm.to_jwk(KEY.public_key())), "kid": kid,
                                         "use": "sig", "alg": "RS256"} for kid in PUBLISHED]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks", fetches
    finally:
        server.shutdown()
        thread.join(timeout=10)


def signed(kid: str) -> str:
    claims = {"sub": str(uuid.uuid4()), "email": "a@b.example", "tenant_id": str(uuid.uuid4()),
              "iss": ISSUER, "aud": AUDIENCE, "iat": 1, "exp": FAR_FUTURE}
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": kid})


async def test_unknown_key_ids_cause_at_most_one_refetch(jwks: tuple[str, list[int]]) -> None:
    url, fetches = jwks
    verifier = TokenVerifier(httpx.AsyncClient(), url)
    assert (await verifier.verify(signed("core-1"))).email == "a@b.example"
    before = len(fetches)
    for _ in range(25):
        with pytest.raises(Unauthorized):
            await verifier.verify(signed(f"attacker-{uuid.uuid4()}"))
    assert len(fetches) - before <= 1, f"{len(fetches) - before} JWKS fetches for 25 unknown key ids"


async def test_after_the_interval_a_new_key_id_is_looked_up_once_more(jwks: tuple[str, list[int]]) -> None:
    """Rotation: a key published later is found, once the refetch interval has passed."""
    url, fetches = jwks
    now = [100.0]
    verifier = TokenVerifier(httpx.AsyncClient(), url, refetch_interval=30, clock=lambda: now[0])
    with pytest.raises(Unauthorized):
        await verifier.verify(signed("core-2"))
    PUBLISHED.append("core-2")  # core rotates a key in
    before = len(fetches)
    with pytest.raises(Unauthorized, match="unknown signing key"):
        await verifier.verify(signed("core-2"))  # within the interval: refused without a fetch
    assert len(fetches) == before
    now[0] += 31
    assert (await verifier.verify(signed("core-2"))).email == "a@b.example"
    assert (await verifier.verify(signed("core-2"))).email == "a@b.example"  # known now: no fetch
    assert len(fetches) == before + 1


async def test_a_key_core_rotated_out_stops_verifying_once_the_held_keys_are_old(
    jwks: tuple[str, list[int]],
) -> None:
    """The module re-reads the JWKS when its copy is older than max_age, so a key core dropped is dropped here."""
    url, fetches = jwks
    now = [100.0]
    verifier = TokenVerifier(httpx.AsyncClient(), url, refetch_interval=30, max_age=300, clock=lambda: now[0])
    assert (await verifier.verify(signed("core-1"))).email == "a@b.example"
    now[0] += 100
    assert (await verifier.verify(signed("core-1"))).email == "a@b.example"
    assert len(fetches) == 1  # fresh enough: no fetch
    now[0] += 250
    assert (await verifier.verify(signed("core-1"))).email == "a@b.example"
    assert len(fetches) == 2  # older than max_age: fetched again
