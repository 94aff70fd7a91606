"""What the services need from the outside world. Adapters implement these with the real SDKs;
unit tests implement them with in-memory fakes. Every method raises only `miniapp.errors` types:
adapters translate vendor exceptions (an SDK error never reaches a service). A `get` or `tally`
of a row the invocation read ahead with the session row answers from `miniapp.prefetch`, once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from .domain.files import Declared, SignedUrl, StoredObject, Ticket
from .domain.orders import TradeState
from .domain.records import (
    AlipayGrant,
    Buyer,
    FirstRead,
    Page,
    Paired,
    RateLimit,
    ReadAhead,
    Refunded,
    Row,
    SessionRecord,
    StsCredentials,
    Tally,
)


class Clock(Protocol):
    def now_ms(self) -> int: ...


class IdentityProvider(Protocol):
    def exchange_auth_code(self, auth_code: str) -> AlipayGrant:
        """alipay.system.oauth.token. InvalidAuthCode if Alipay refuses the code,
        UpstreamUnavailable if Alipay fails, is slow, or its reply does not verify."""
        ...


class IdentityLinks(Protocol):
    """Which internal id an Alipay id (a key from `domain.identity`) belongs to."""

    def get(self, key: str) -> str | None: ...

    def claim(self, key: str, internal_id: str) -> str:
        """Bind key to internal_id if the key is unbound and return internal_id; if it was bound
        before, change nothing and return the id bound then."""
        ...


class CredentialIssuer(Protocol):
    def issue(
        self, session_name: str, policy: Mapping[str, object], duration_seconds: int
    ) -> StsCredentials:
        """STS AssumeRole on the client role with an inline policy.
        UpstreamUnavailable on failure."""
        ...


class SessionStore(Protocol):
    def create(self, record: SessionRecord) -> None:
        """Conflict if a session with that key exists (never overwrite)."""
        ...

    def get(self, key: str) -> SessionRecord | None: ...

    def touch(self, key: str, last_seen_ms: int) -> None:
        """Record activity; SessionNotFound if the session is gone."""
        ...

    def delete(self, key: str) -> bool:
        """True if a session was deleted."""
        ...


class SessionItemReader(Protocol):
    """The session row and a command's first reads in one request (Tablestore BatchGetRow): one
    round trip less on a warm instance. The other rows' keys hold the user id, so the caller
    must already know whose session it is (`Sessions` remembers it per instance); the session
    row read here is what decides, before anything is answered."""

    def session_and(
        self, key: str, user_id: str, reads: tuple[FirstRead, ...]
    ) -> tuple[SessionRecord | None, ReadAhead]: ...


class ItemStore(Protocol):
    """The user's rows. Every call is scoped by user_id: the key always starts with the user."""

    def get(self, user_id: str, item_id: str) -> Row | None: ...

    def put(self, row: Row, *, must_not_exist: bool = False, must_exist: bool = False) -> None:
        """Store the whole row (replacing all its columns). Conflict if must_not_exist and the row
        exists; NotFound if must_exist and it does not (Tablestore's EXPECT_NOT_EXIST /
        EXPECT_EXIST conditions). Never both flags at once."""
        ...

    def replace_if_version(self, row: Row, expected_version: int) -> None:
        """Replace the row only if its stored `version` column equals expected_version:
        Conflict if it differs, NotFound if there is no row."""
        ...

    def delete(self, user_id: str, item_id: str) -> bool | None:
        """True if this call deleted the row, False if there was none, None if the row is gone
        but a re-sent request cannot tell whether this call removed it."""
        ...

    def page(self, user_id: str, start_after: str | None, limit: int) -> Page:
        """Rows in item_id order, after start_after (exclusive)."""
        ...

    def pages(self, user_id: str) -> Iterator[tuple[Row, ...]]:
        """Every row of the user in item_id order, in the pages the store answers: one request
        per page (Tablestore: up to 5,000 rows or 4 MB), made only when the caller asks for the
        next page, so a caller that stops early reads no further."""
        ...

    def compat_pages(self, user_id: str) -> Iterator[list[dict[str, Any]]]:
        """`pages`, each row as the 2020 protocol answers it: `domain.compat.row_to_compat` of
        the row, built straight from what the store read (a 2020 list's 10,000 rows keep no
        `Row`)."""
        ...


class CollectionRows(Protocol):
    """The items of the declared collections. Every call names the user (from the session) and
    the collection: a user's items of one collection are one contiguous key range, and no call
    reaches outside it. `Row.item_id` is the item's own id (the collection is not part of it).
    Their count is `CountedRows`', with the collection's name as the scope."""

    def get(self, user_id: str, collection: str, item_id: str) -> Row | None: ...

    def put_new(self, row: Row, collection: str) -> None:
        """Create the row; Conflict if it exists (a re-sent put that finds its own row is fine)."""
        ...

    def replace_if_version(self, row: Row, collection: str, expected_version: int) -> None:
        """Replace the row if its `version` column equals expected_version: Conflict if it
        differs, NotFound if there is no row."""
        ...

    def delete(self, user_id: str, collection: str, item_id: str) -> bool | None:
        """True if this call deleted the row, False if there was none, None if the row is gone
        but a re-sent request cannot tell whether this call removed it."""
        ...

    def page(
        self,
        user_id: str,
        collection: str,
        start_after: str | None,
        limit: int,
        newest_first: bool = False,
    ) -> Page: ...


class CountedRows(Protocol):
    """Each user's counted sets of rows, one per scope (a collection's name, or `COMPAT_SCOPE`
    for the 2020 rows), each with one tally row: the count the quota is checked against, a
    revision bumped by every write that may change the count, and one marker per write in
    flight. A marker is written in the same request as the change it covers and dropped when the
    write is settled, so a marker left behind (a lost reply, a crash) tells the next operation
    to recount (services/exact_count.py)."""

    def count(self, user_id: str, scope: str) -> int:
        """The rows there are, counted from storage."""
        ...

    def tally(self, user_id: str, scope: str) -> Tally | None:
        """None if there is none yet. A tally that cannot be trusted (unreadable, or a counter
        from before tallies) reads with count -1, so it is recounted."""
        ...

    def create_tally(self, user_id: str, scope: str, count: int) -> None:
        """Conflict if the tally exists."""
        ...

    def reserve(self, user_id: str, scope: str, limit: int, marker: str, now_ms: int) -> None:
        """count += 1 with `marker` set, if count < limit: QuotaExceeded if not, NotFound if there
        is no tally. Not idempotent: never re-sent after an unknown outcome."""
        ...

    def mark(self, user_id: str, scope: str, marker: str, now_ms: int) -> None:
        """Set `marker` (a removal in flight); NotFound if there is no tally."""
        ...

    def settle(self, user_id: str, scope: str, marker: str, delta: int) -> None:
        """count += delta and drop `marker`, in one request."""
        ...

    def reset(self, seen: Tally, count: int) -> bool:
        """Set the count and drop the markers `seen` holds, if the tally's revision is still the
        one `seen` read. False if it changed meanwhile."""
        ...

    def put_new_settling(self, row: Row, scope: str, marker: str) -> Paired:
        """Create the row (Conflict if it exists, as `CollectionRows.put_new`) and `settle(marker,
        0)` in one request, whose two writes succeed or fail each on its own (`Paired`; `item`
        is True or the put's error). Raises only when the request as a whole failed."""
        ...

    def delete_marking(
        self, user_id: str, scope: str, item_id: str, marker: str, now_ms: int
    ) -> Paired:
        """`mark` and the delete of the row `item_id` in one request, each succeeding or failing
        on its own (`Paired`; `item` answers as `ItemStore.delete` does, or is its error)."""
        ...


class IdempotencyStore(Protocol):
    def claim(self, user_id: str, key: str, item_id: str) -> str:
        """Bind key to item_id if the key is new and return item_id; if the key was claimed
        before, return the item id bound then (the retry must not create a second item)."""
        ...


class RateLimiter(Protocol):
    def hit(self, bucket: str, capacity: int, window_seconds: int) -> None:
        """Count one event in the bucket; RateLimited(retry_after) when over capacity."""
        ...

    def hit_all(self, limits: Sequence[RateLimit]) -> list[int | None]:
        """Count one event against each limit, all in one request. Per limit, in order: None
        when it was counted, or the seconds until its window ends when it was over capacity (a
        refused limit is not counted; the others still are)."""
        ...


class LogSink(Protocol):
    def emit(self, record: Mapping[str, object]) -> None:
        """Write one structured record, done when it returns (nothing is left to flush before
        FC freezes the instance). Must never raise: a logging failure never fails a request."""
        ...


class Grants(Protocol):
    """What paid orders add to a user's quota in a counted scope, one grant per order (the
    order id is the key): granting twice grants once, revoking an absent grant does nothing."""

    def grant(self, user_id: str, scope: str, key: str, items: int) -> None: ...

    def revoke(self, user_id: str, scope: str, key: str) -> None: ...


class TradeGateway(Protocol):
    """Alipay's trade methods for the app (alipay.trade.*). UpstreamUnavailable when Alipay is
    unreachable, slow, unverifiable or refuses for a reason the caller cannot act on."""

    def create(
        self,
        out_trade_no: str,
        amount_fen: int,
        subject: str,
        buyer: Buyer,
        notify_url: str,
        timeout_minutes: int,
    ) -> str:
        """The trade_no (the same for the same out_trade_no and content). SessionExpired when
        Alipay does not know the buyer as named (a new login names them anew)."""
        ...

    def query(self, out_trade_no: str) -> TradeState | None:
        """None: Alipay has no such trade."""
        ...

    def close(self, out_trade_no: str) -> bool:
        """False: not closable (paid meanwhile, or no such trade)."""
        ...

    def refund(self, out_trade_no: str, amount_fen: int, out_request_no: str) -> Refunded:
        """Idempotent by out_request_no. Conflict when the trade's state refuses it."""
        ...


class OrderIndex(Protocol):
    """Which user an order belongs to (the notify and the operator know only its id), and the
    orders not yet settled, oldest first, for the reconciler."""

    def add(self, order_id: str, user_id: str) -> None:
        """Index a new order as open (safe to repeat)."""
        ...

    def owner(self, order_id: str) -> str | None: ...

    def open_orders(self, before: str, limit: int) -> list[tuple[str, str]]:
        """(order id, user id) of open orders whose id sorts before `before`, oldest first."""
        ...

    def settle(self, order_id: str) -> None:
        """The order needs the reconciler no more."""
        ...

    def recent(self, limit: int, before: str | None = None) -> list[tuple[str, str]]:
        """(order id, user id) of every order, newest first, before `before` if given."""
        ...


class FileObjects(Protocol):
    """The bucket of users' files (domain/files.py): tickets and URLs signed with credentials
    scoped to one user, and the db function's own reads, copies and deletes. Every method raises
    only `miniapp.errors` types (UpstreamUnavailable when OSS or STS fail)."""

    def ticket(self, user_id: str, file_id: str, declared: Declared, seconds: int) -> Ticket:
        """A POST form for `upload_key(user_id, file_id)`, valid `seconds` at most."""
        ...

    def signed_url(self, user_id: str, key: str, seconds: int) -> SignedUrl:
        """A GET URL of `key` (one of the user's committed files), valid `seconds` at most."""
        ...

    def head(self, key: str) -> StoredObject | None:
        """None when there is no such object."""
        ...

    def copy(self, source_key: str, target_key: str) -> None:
        """NotFound when the source is gone."""
        ...

    def delete(self, key: str) -> None:
        """Deleting a missing object succeeds."""
        ...
