"""The rules of Alipay trades (JSAPI payments of a mini program), without HTTP.

A trade is created `WAIT_BUYER_PAY` for one buyer, paid in the sandbox cashier (`TRADE_SUCCESS`),
closed unpaid (`TRADE_CLOSED`, by `alipay.trade.close` or when its `timeout_express` lapses),
refunded in part or whole (a full refund closes it), and after the refund window it is
`TRADE_FINISHED` (Alipay's notify docs: TRADE_FINISHED when a trade that supports refunds has
passed its refundable period, or at payment for a product without refunds; every local app's
products support refunds, so here it is always the former, 90 days after payment, on the local
clock). What Alipay documents and we keep:
- `out_trade_no` is the merchant's key: creating it again with the same content answers the same
  trade, with other content ACQ.CONTEXT_INCONSISTENT, once paid ACQ.TRADE_HAS_SUCCESS, once
  closed ACQ.TRADE_HAS_CLOSE;
- the buyer is named as the app's identity mode allows (`buyer_id` in user_id mode,
  `buyer_open_id` in open_id mode, either during the verification phase); the other one, or an
  open_id of another app, is ACQ.BUYER_NOT_EXIST;
- a refund is keyed by `out_request_no` (default: the `out_trade_no`): asking again with the same
  amount refunds nothing more and answers `fund_change: N`, with another amount
  ACQ.DISCORDANT_REPEAT_REQUEST; refunds never sum past the total (ACQ.REFUND_AMT_NOT_EQUAL_TOTAL).
Amounts are integer fen (money.py). Times read the injected clock.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from ..clock import Clock
from ..state import Database
from . import errors
from .apps import App, AppRegistry
from .core import USER_ID
from .errors import AlipayError
from .money import to_fen

WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
TRADE_SUCCESS = "TRADE_SUCCESS"
TRADE_CLOSED = "TRADE_CLOSED"
TRADE_FINISHED = "TRADE_FINISHED"
DEFAULT_TIMEOUT = 15 * 24 * 3600  # timeout_express when the request names none: 15d
REFUND_WINDOW = 90 * 24 * 3600  # a paid trade can be refunded for three months, then finishes
PRODUCT_CODES = ("JSAPI_PAY", "FACE_TO_FACE_PAYMENT")
_TIMEOUT = re.compile(r"([1-9]\d*)([mhd])")
_TIMEOUT_UNIT = {"m": 60, "h": 3600, "d": 86400}
_OUT_NO = re.compile(r"[0-9A-Za-z_\-]{1,64}")

SCHEMA = """
CREATE TABLE IF NOT EXISTS trades (
    trade_no TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    subject TEXT NOT NULL,
    total_fen INTEGER NOT NULL,
    buyer_user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    paid_at REAL,
    refunded_fen INTEGER NOT NULL DEFAULT 0,
    UNIQUE (app_id, out_trade_no)
);
CREATE TABLE IF NOT EXISTS refunds (
    trade_no TEXT NOT NULL,
    out_request_no TEXT NOT NULL,
    refund_fen INTEGER NOT NULL,
    refunded_at REAL NOT NULL,
    PRIMARY KEY (trade_no, out_request_no)
)
"""


@dataclass(frozen=True)
class Trade:
    trade_no: str
    app_id: str
    out_trade_no: str
    subject: str
    total_fen: int
    buyer_user_id: str  # the buyer's user_id; replies name them as the app's mode says
    status: str
    notify_url: str
    created_at: float
    expires_at: float
    paid_at: float | None
    refunded_fen: int


@dataclass(frozen=True)
class Refund:
    out_request_no: str
    refund_fen: int
    refunded_at: float


class CashierRefusal(ValueError):
    """The sandbox cashier cannot take this payment (unknown trade, other buyer, not payable)."""


def read_biz(params: Mapping[str, str]) -> dict[str, object]:
    """biz_content as a JSON object, numbers as the Decimals they spell."""
    try:
        biz = json.loads(params.get("biz_content") or "{}", parse_float=Decimal)
    except ValueError:
        raise AlipayError(errors.ACQ_INVALID_PARAMETER, ": biz_content is not JSON") from None
    if not isinstance(biz, dict):
        raise AlipayError(errors.ACQ_INVALID_PARAMETER, ": biz_content must be an object")
    return biz


class TradeBook:
    def __init__(self, db: Database, clock: Clock, apps: AppRegistry) -> None:
        self._db = db
        self._clock = clock
        self._apps = apps

    # -- the OpenAPI methods -----------------------------------------------------------------
    def create(self, app: App, biz: Mapping[str, object], notify_url: str) -> Trade:
        out_trade_no = _out_no(biz, "out_trade_no", required=True)
        subject = biz.get("subject")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 256:
            raise AlipayError(errors.ACQ_INVALID_PARAMETER, ": subject is required")
        total = to_fen(biz.get("total_amount"), "total_amount")
        product = biz.get("product_code", "JSAPI_PAY")
        if product not in PRODUCT_CODES:
            raise AlipayError(errors.ACQ_INVALID_PARAMETER, ": product_code")
        op_app = biz.get("op_app_id")
        if op_app is not None and op_app != app.app_id:
            raise AlipayError(errors.ACQ_INVALID_PARAMETER, ": op_app_id is not this app")
        timeout = _timeout(biz.get("timeout_express"))
        if notify_url and not notify_url.startswith(("http://", "https://")):
            raise AlipayError(errors.ACQ_INVALID_PARAMETER, ": notify_url must be http(s)")
        buyer = self._buyer(app, biz)
        now = self._clock.now()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM trades WHERE app_id = ? AND out_trade_no = ?",
                (app.app_id, out_trade_no),
            ).fetchone()
            if row is not None:
                trade = self._current(conn, _trade(row), now)
                if trade.status == TRADE_SUCCESS or trade.status == TRADE_FINISHED:
                    raise AlipayError(errors.ACQ_TRADE_HAS_SUCCESS)
                if trade.status == TRADE_CLOSED:
                    raise AlipayError(errors.ACQ_TRADE_HAS_CLOSE)
                if (trade.total_fen, trade.buyer_user_id, trade.subject) != (total, buyer, subject):
                    raise AlipayError(errors.ACQ_CONTEXT_INCONSISTENT)
                return trade
            trade_no = (
                datetime.fromtimestamp(now).strftime("%Y%m%d")
                + "22"
                + "".join(secrets.choice("0123456789") for _ in range(18))
            )
            conn.execute(
                "INSERT INTO trades (trade_no, app_id, out_trade_no, subject, total_fen,"
                " buyer_user_id, status, notify_url, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    trade_no,
                    app.app_id,
                    out_trade_no,
                    subject,
                    total,
                    buyer,
                    WAIT_BUYER_PAY,
                    notify_url,
                    now,
                    now + timeout,
                ),
            )
            return self._get(conn, trade_no)

    def find(self, app: App, biz: Mapping[str, object]) -> Trade:
        """The trade `biz` names by trade_no (preferred) or out_trade_no, as it stands now."""
        trade_no = _out_no(biz, "trade_no", required=False)
        out_trade_no = _out_no(biz, "out_trade_no", required=False)
        if not trade_no and not out_trade_no:
            raise AlipayError(
                errors.ACQ_INVALID_PARAMETER, ": trade_no or out_trade_no is required"
            )
        with self._db.transaction() as conn:
            if trade_no:
                row = conn.execute(
                    "SELECT * FROM trades WHERE trade_no = ? AND app_id = ?", (trade_no, app.app_id)
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT * FROM trades WHERE out_trade_no = ? AND app_id = ?",
                    (out_trade_no, app.app_id),
                ).fetchone()
            if row is None:
                raise AlipayError(errors.ACQ_TRADE_NOT_EXIST)
            return self._current(conn, _trade(row), self._clock.now())

    def close(self, app: App, biz: Mapping[str, object]) -> Trade:
        with self._db.transaction() as conn:  # one transaction: no payment slips in between
            trade = self.find(app, biz)
            if trade.status != WAIT_BUYER_PAY:
                raise AlipayError(errors.ACQ_TRADE_STATUS_ERROR)
            conn.execute(
                "UPDATE trades SET status = ? WHERE trade_no = ?", (TRADE_CLOSED, trade.trade_no)
            )
            return self._get(conn, trade.trade_no)

    def refund(self, app: App, biz: Mapping[str, object]) -> tuple[Trade, Refund, bool]:
        """The trade after the refund, the refund, and whether money moved (False when the same
        out_request_no was refunded before)."""
        with self._db.transaction() as conn:  # one transaction: refunds never race the total
            trade = self.find(app, biz)
            amount = to_fen(biz.get("refund_amount"), "refund_amount")
            request_no = _out_no(biz, "out_request_no", required=False) or trade.out_trade_no
            now = self._clock.now()
            earlier = conn.execute(
                "SELECT * FROM refunds WHERE trade_no = ? AND out_request_no = ?",
                (trade.trade_no, request_no),
            ).fetchone()
            if earlier is not None:
                if earlier["refund_fen"] != amount:
                    raise AlipayError(errors.ACQ_DISCORDANT_REPEAT_REQUEST)
                return trade, _refund(earlier), False
            if trade.status == TRADE_FINISHED:
                raise AlipayError(errors.ACQ_TRADE_HAS_FINISHED)
            if trade.status != TRADE_SUCCESS:
                raise AlipayError(errors.ACQ_TRADE_STATUS_ERROR)
            if trade.refunded_fen + amount > trade.total_fen:
                raise AlipayError(errors.ACQ_REFUND_AMT_NOT_EQUAL_TOTAL)
            refunded = trade.refunded_fen + amount
            status = TRADE_CLOSED if refunded == trade.total_fen else TRADE_SUCCESS
            conn.execute(
                "INSERT INTO refunds (trade_no, out_request_no, refund_fen, refunded_at)"
                " VALUES (?, ?, ?, ?)",
                (trade.trade_no, request_no, amount, now),
            )
            conn.execute(
                "UPDATE trades SET refunded_fen = ?, status = ? WHERE trade_no = ?",
                (refunded, status, trade.trade_no),
            )
            return self._get(conn, trade.trade_no), Refund(request_no, amount, now), True

    def refund_of(self, app: App, biz: Mapping[str, object]) -> tuple[Trade, Refund | None]:
        trade = self.find(app, biz)
        request_no = _out_no(biz, "out_request_no", required=True)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM refunds WHERE trade_no = ? AND out_request_no = ?",
                (trade.trade_no, request_no),
            ).fetchone()
        return trade, _refund(row) if row is not None else None

    # -- the sandbox cashier -----------------------------------------------------------------
    def pay(self, trade_no: str, user_id: str) -> Trade:
        """What the buyer's Alipay app does when they confirm the payment."""
        now = self._clock.now()
        with self._db.transaction() as conn:
            row = conn.execute("SELECT * FROM trades WHERE trade_no = ?", (trade_no,)).fetchone()
            if row is None:
                raise CashierRefusal("no trade has this tradeNo")
            trade = self._current(conn, _trade(row), now)
            if trade.buyer_user_id != user_id:
                raise CashierRefusal("the trade is another buyer's")
            if trade.status != WAIT_BUYER_PAY:
                raise CashierRefusal(f"the trade is {trade.status}, not WAIT_BUYER_PAY")
            conn.execute(
                "UPDATE trades SET status = ?, paid_at = ? WHERE trade_no = ?",
                (TRADE_SUCCESS, now, trade_no),
            )
            return self._get(conn, trade_no)

    # -- the end of the refund window (a scheduler job runs these) ------------------------------
    def next_finish(self) -> float | None:
        """When the next paid trade's refund window ends (None: no paid trade waits for it)."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT MIN(paid_at) FROM trades WHERE status = ? AND paid_at IS NOT NULL",
                (TRADE_SUCCESS,),
            ).fetchone()
        return None if row[0] is None else float(row[0]) + REFUND_WINDOW

    def finish_due(self, now: float, on_finished: Callable[[Trade], None]) -> None:
        """Finish each paid trade whose refund window has ended by `now`, calling `on_finished`
        with it in the same transaction: its notify is queued with the change or not at all."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM trades WHERE status = ? AND paid_at IS NOT NULL"
                " AND paid_at + ? <= ? ORDER BY paid_at",
                (TRADE_SUCCESS, REFUND_WINDOW, now),
            ).fetchall()
            for row in rows:
                conn.execute(
                    "UPDATE trades SET status = ? WHERE trade_no = ?",
                    (TRADE_FINISHED, row["trade_no"]),
                )
                on_finished(self._get(conn, row["trade_no"]))

    # -- helpers -----------------------------------------------------------------------------
    def _buyer(self, app: App, biz: Mapping[str, object]) -> str:
        buyer_id, open_id = biz.get("buyer_id"), biz.get("buyer_open_id")
        if buyer_id is None and open_id is None:
            raise AlipayError(
                errors.ACQ_INVALID_PARAMETER, ": buyer_id or buyer_open_id is required"
            )
        if buyer_id is not None:
            if (
                app.identity == "open_id"
                or open_id is not None
                or not isinstance(buyer_id, str)
                or not USER_ID.fullmatch(buyer_id)
            ):
                raise AlipayError(errors.ACQ_BUYER_NOT_EXIST)
            return buyer_id
        user = (
            self._apps.user_of_open_id(app.app_id, open_id)
            if isinstance(open_id, str) and app.identity != "user_id"
            else None
        )
        if user is None:
            raise AlipayError(errors.ACQ_BUYER_NOT_EXIST)
        return user

    def _current(self, conn: sqlite3.Connection, trade: Trade, now: float) -> Trade:
        """Apply what time did: an unpaid trade past its timeout closes. A paid one past the
        refund window reads as finished; `finish_due` records it, with its notify."""
        if trade.status == WAIT_BUYER_PAY and now >= trade.expires_at:
            conn.execute(
                "UPDATE trades SET status = ? WHERE trade_no = ?", (TRADE_CLOSED, trade.trade_no)
            )
            return self._get(conn, trade.trade_no)
        if trade.status == TRADE_SUCCESS and finishes_by(trade) <= now:
            return replace(trade, status=TRADE_FINISHED)
        return trade

    @staticmethod
    def _get(conn: sqlite3.Connection, trade_no: str) -> Trade:
        return _trade(
            conn.execute("SELECT * FROM trades WHERE trade_no = ?", (trade_no,)).fetchone()
        )


def _trade(row: sqlite3.Row) -> Trade:
    return Trade(
        row["trade_no"],
        row["app_id"],
        row["out_trade_no"],
        row["subject"],
        row["total_fen"],
        row["buyer_user_id"],
        row["status"],
        row["notify_url"],
        row["created_at"],
        row["expires_at"],
        row["paid_at"],
        row["refunded_fen"],
    )


def finishes_by(trade: Trade) -> float:
    """When a paid trade's refund window ends."""
    return (trade.paid_at or 0.0) + REFUND_WINDOW


def _refund(row: sqlite3.Row) -> Refund:
    return Refund(row["out_request_no"], row["refund_fen"], row["refunded_at"])


def _out_no(biz: Mapping[str, object], name: str, *, required: bool) -> str:
    value = biz.get(name)
    if value is None or value == "":
        if required:
            raise AlipayError(errors.ACQ_INVALID_PARAMETER, f": {name} is required")
        return ""
    if not isinstance(value, str) or not _OUT_NO.fullmatch(value):
        raise AlipayError(
            errors.ACQ_INVALID_PARAMETER, f": {name} must be 1-64 letters, digits, _ or -"
        )
    return value


def _timeout(value: object) -> int:
    if value is None:
        return DEFAULT_TIMEOUT
    match = _TIMEOUT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise AlipayError(errors.ACQ_INVALID_PARAMETER, ": timeout_express (e.g. 30m, 2h, 1d)")
    seconds = int(match.group(1)) * _TIMEOUT_UNIT[match.group(2)]
    if not 60 <= seconds <= DEFAULT_TIMEOUT:
        raise AlipayError(errors.ACQ_INVALID_PARAMETER, ": timeout_express is 1m to 15d")
    return seconds
