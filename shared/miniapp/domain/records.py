"""Values that cross the ports: what the outside world gives the services and what they store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import MiniAppError

Scalar = str | int | float | bool


@dataclass(frozen=True)
class AlipayGrant:
    """What `alipay.system.oauth.token` answered: who the user is (`user_id`, `open_id` for an app
    in openid mode, or both; "" for an absent one) and the two tokens. Nothing else is kept."""

    user_id: str
    access_token: str
    refresh_token: str
    expires_in: int
    re_expires_in: int
    open_id: str = ""


@dataclass(frozen=True)
class StsCredentials:
    """The temporary credentials STS issued to a client, for the db function."""

    access_key_id: str
    access_key_secret: str
    security_token: str
    expiration: str  # ISO 8601 UTC, as STS answers it: 2026-11-21T08:00:00Z

    def to_wire(self) -> dict[str, str]:
        """The 2020 protocol's `sts` object, key for key."""
        return {
            "AccessKeyId": self.access_key_id,
            "AccessKeySecret": self.access_key_secret,
            "SecurityToken": self.security_token,
            "Expiration": self.expiration,
        }


@dataclass(frozen=True)
class SessionRecord:
    """A session as stored. `key` is the SHA-256 (hex) of the sessionId, never the id itself, and
    the Alipay tokens are AES-GCM ciphertexts, so a leaked table opens nothing."""

    key: str
    user_id: str
    created_at_ms: int
    last_seen_ms: int
    expires_at_ms: int
    access_token_enc: bytes
    refresh_token_enc: bytes
    # How Alipay named the user at this login, for the trades the user pays ("" when it did not
    # say, or the row predates payments): alipay.trade.create takes the buyer that way.
    alipay_user_id: str = ""
    alipay_open_id: str = ""


@dataclass(frozen=True)
class Row:
    """One of a user's rows in the data table: primary key (user_id, item_id) plus columns."""

    user_id: str
    item_id: str
    columns: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page of a user's rows in the data table."""

    rows: tuple[Row, ...]
    next_start: str | None  # the item_id to start after on the next page, or None at the end


# The scope of the 2020 rows' tally. A collection's scope is its name, which starts with a letter.
COMPAT_SCOPE = "2020"


@dataclass(frozen=True)
class Tally:
    """A (user, scope)'s tally row: see `ports.CountedRows`."""

    user_id: str
    scope: str
    count: int
    revision: int
    markers: Mapping[str, int] = field(default_factory=dict)  # marker -> ms when written
    # What paid orders add to the scope's quota: order id -> items (services/orders.py). A row
    # a grant created before the user's first count has no count yet (`counted` False).
    grants: Mapping[str, int] = field(default_factory=dict)
    counted: bool = True

    @property
    def granted(self) -> int:
        return sum(self.grants.values())


@dataclass(frozen=True)
class FirstRead:
    """A row a command reads first, named before the session is resolved so that it can be read
    with the session row: a counted scope's tally (`item_id` None) or one of the scope's rows
    (a collection's item, or a 2020 row when the scope is `COMPAT_SCOPE`)."""

    scope: str
    item_id: str | None = None


@dataclass(frozen=True)
class ReadAhead:
    """The first reads done with the session row: the tallies by scope and the rows by (scope,
    item id), None where there is none."""

    tallies: Mapping[str, Tally | None] = field(default_factory=dict)
    rows: Mapping[tuple[str, str], Row | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Paired:
    """What one request that wrote a row and its tally did. Tablestore applies the rows of a
    BatchWriteRow one by one, so each has its own outcome. `item`: what the port method says its
    row write answers (True, or for a delete True / False / None), or the error that write
    failed with; `tally`: whether the tally's part was written."""

    item: bool | None | MiniAppError
    tally: bool


@dataclass(frozen=True)
class RateLimit:
    """One event to count against a limit: at most `capacity` in each `window_seconds` (windows
    aligned to the epoch) for `bucket`."""

    bucket: str
    capacity: int
    window_seconds: int


@dataclass(frozen=True)
class Buyer:
    """Who pays a trade, as Alipay's trade.create takes them: `open_id` for an app in openid mode
    (or its verification phase), else the `user_id`."""

    user_id: str = ""
    open_id: str = ""


@dataclass(frozen=True)
class Refunded:
    """What alipay.trade.refund answered: the trade's refunds so far (fen), and whether this
    request moved money (False: its out_request_no had refunded before)."""

    total_refunded_fen: int
    moved: bool
