"""Password hashing with argon2 (argon2-cffi's recommended parameters), off the event loop.

An argon2 hash takes about 0.1 s of CPU on purpose. Run on the event loop, eight logins a second
would stall every other request of core; so hashing happens in a small thread pool of its own,
and when too many hashes already wait the caller is told to come back (`HashingBusy`) instead of
queueing without bound.
"""

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY = _hasher.hash("not-a-real-password")

POOL_SIZE = max(1, min(4, (os.cpu_count() or 2) // 2 or 1))
MAX_WAITING = 32  # hashes queued behind the pool before callers are refused
_pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="argon2")
_pending = 0
_lock = threading.Lock()


class HashingBusy(Exception):
    """Too many password checks are in progress; try again in a moment."""


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2 parameters (tests use cheap ones; production keeps the defaults)."""
    global _hasher, _DUMMY
    _hasher = hasher
    _DUMMY = hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def _in_pool(fn: object, *args: object) -> object:
    global _pending
    with _lock:
        if _pending >= POOL_SIZE + MAX_WAITING:
            raise HashingBusy()
        _pending += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)  # type: ignore[arg-type]
    finally:
        with _lock:
            _pending -= 1


async def hash_password_async(password: str) -> str:
    """`hash_password` in the bounded pool (HashingBusy when it is full)."""
    return str(await _in_pool(hash_password, password))


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """`verify_password` in the bounded pool (HashingBusy when it is full)."""
    return bool(await _in_pool(verify_password, password_hash, password))
