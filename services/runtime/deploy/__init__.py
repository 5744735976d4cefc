"""deploy/ from one source: the gateway and Kubernetes files rendered from services/runtime/gateway.py.

`buildify deploy generate` writes them; `buildify deploy generate --check` (and tests/deploy) fail
when a committed file differs from what the definitions render.
"""
