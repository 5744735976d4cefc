"""Acknowledging consumed messages with as few frames as is safe.

Delivery tags on a channel count up from 1. Once every tag up to T is settled, one
`basic.ack(T, multiple=True)` acknowledges them all: one write instead of one per message (each
write is a syscall, the consumer's main cost). A message settled above a gap (a slower handler
still holds a lower tag) is acknowledged on its own at once, so it never holds a prefetch slot.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream.rabbit import RabbitMessage


@dataclass
class _Channel:
    next_tag: int = 1  # every tag below this one is acknowledged
    acked_alone: set[int] = field(default_factory=set)  # tags above a gap, acknowledged one by one


class Acknowledger:
    """Acknowledges settled messages per channel: the contiguous run with one frame, the rest alone."""

    def __init__(self) -> None:
        self._channels: dict[int, tuple[Any, _Channel]] = {}

    async def ack(self, messages: Sequence[RabbitMessage]) -> int:
        """Acknowledge `messages`; returns how many were lost with a closed channel (RabbitMQ
        redelivers those, and the inbox skips what was already handled)."""
        by_channel: dict[int, tuple[Any, list[int]]] = {}
        for message in messages:
            raw = message.raw_message
            if raw.delivery_tag is not None:  # None: consumed without acknowledgements
                by_channel.setdefault(id(raw.channel), (raw.channel, []))[1].append(raw.delivery_tag)
        lost = 0
        for key, (channel, tags) in by_channel.items():
            try:
                await self._ack_on(key, channel, tags)
            except Exception:  # the channel closed: its unacknowledged messages come back
                self._channels.pop(key, None)
                lost += len(tags)
        return lost

    async def _ack_on(self, key: int, channel: Any, tags: list[int]) -> None:
        known = self._channels.get(key)
        if known is None or known[0] is not channel:
            self._forget_closed()
            known = self._channels[key] = (channel, _Channel())
        state = known[1]
        settled = set(tags)
        start = state.next_tag
        while state.next_tag in settled or state.next_tag in state.acked_alone:
            state.acked_alone.discard(state.next_tag)
            state.next_tag += 1
        covered = [tag for tag in settled if start <= tag < state.next_tag]
        if covered:  # the highest one still outstanding: RabbitMQ refuses a tag already acknowledged
            await channel.basic_ack(delivery_tag=max(covered), multiple=True)
        for tag in sorted(tag for tag in settled if tag >= state.next_tag):
            await channel.basic_ack(delivery_tag=tag)
            state.acked_alone.add(tag)

    def _forget_closed(self) -> None:
        for key, (channel, _) in list(self._channels.items()):
            if getattr(channel, "is_closed", False):
                del self._channels[key]
