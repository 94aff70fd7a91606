"""The fakes live in the public test kit (`miniapp.testing.fakes`); the unit tests import them
from here as before."""

from miniapp.testing.fakes import (
    BrokenSink,
    FakeClock,
    FakeIdentity,
    FakeIssuer,
    Faults,
    InMemoryIdempotency,
    InMemoryIdentityLinks,
    InMemoryItems,
    InMemoryRateLimiter,
    InMemoryRows,
    InMemorySessionItems,
    InMemorySessions,
    InMemoryTallies,
    ListSink,
)

__all__ = [
    "BrokenSink",
    "FakeClock",
    "FakeIdentity",
    "FakeIssuer",
    "Faults",
    "InMemoryIdempotency",
    "InMemoryIdentityLinks",
    "InMemoryItems",
    "InMemoryRateLimiter",
    "InMemoryRows",
    "InMemorySessionItems",
    "InMemorySessions",
    "InMemoryTallies",
    "ListSink",
]
