"""Asynchronous notifies: what Alipay POSTs to a trade's `notify_url` when it is paid or refunded.

A notify is an `application/x-www-form-urlencoded; charset=utf-8` POST. It is signed as Alipay
signs notifies: RSA2 with Alipay's private key (in certificate mode, the key of
`alipayCertPublicKey_RSA2.crt`, the same pair) over every field but `sign` and `sign_type`,
sorted by name, written `k=v` unencoded and joined by `&`. The receiver must answer the body
`success` (surrounding whitespace ignored) with HTTP 200; anything else, or no answer, is a
failed attempt. Attempts follow Alipay's schedule on the local clock: at once, then 4m, 10m,
10m, 1h, 2h, 6h and 15h after each failure; after the eighth the notify is given up. The
`notify_id` stays the same across attempts; `notify_time` is each attempt's time.

Faults (service `alipay`, api `notify` or none; NOTIFY_FAULT_KINDS, described in faults.py) act on
one attempt each.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import rsa

from ..clock import Clock
from ..faults import FaultBoard
from ..state import Database
from .keys import rsa2_sign

log = logging.getLogger("localcloud.alipay")

RETRY_AFTER = (4 * 60, 10 * 60, 10 * 60, 3600, 2 * 3600, 6 * 3600, 15 * 3600)
ATTEMPTS = len(RETRY_AFTER) + 1
SEND_TIMEOUT = 5.0  # seconds Alipay waits for the receiver's answer
FAULT_API = "notify"
# The fault kinds that act on notifies (faults.py describes them, with the rest of the vocabulary).
NOTIFY_FAULT_KINDS = (
    "notify_lost",
    "notify_duplicated",
    "notify_delayed",
    "notify_out_of_order",
    "notify_forged",
)
CHINA_TIME = timezone(timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifies (
    notify_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    trade_no TEXT NOT NULL,
    url TEXT NOT NULL,
    fields TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at REAL NOT NULL,
    held INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending'
)
"""


@dataclass(frozen=True)
class Notify:
    notify_id: str
    seq: int  # the order notifies were made in
    trade_no: str
    url: str
    fields: Mapping[str, str]  # unsigned; notify_time, sign_type and sign are added per attempt
    attempts: int
    due_at: float
    state: str  # pending | delivered | given_up

    def to_dict(self) -> dict[str, object]:
        return {
            "notifyId": self.notify_id,
            "tradeNo": self.trade_no,
            "url": self.url,
            "tradeStatus": self.fields.get("trade_status", ""),
            "attempts": self.attempts,
            "dueAt": self.due_at,
            "state": self.state,
        }


def beijing(moment: float) -> str:
    return datetime.fromtimestamp(moment, CHINA_TIME).strftime(TIME_FORMAT)


def signed_form(fields: Mapping[str, str], key: rsa.RSAPrivateKey) -> dict[str, str]:
    content = "&".join(
        f"{k}={v}" for k, v in sorted(fields.items()) if k not in ("sign", "sign_type")
    )
    return {**fields, "sign_type": "RSA2", "sign": rsa2_sign(key, content)}


class Notifier:
    """The queue of notifies, a scheduler job."""

    def __init__(
        self, db: Database, clock: Clock, faults: FaultBoard, key: rsa.RSAPrivateKey
    ) -> None:
        self._db = db
        self._clock = clock
        self._faults = faults
        self._key = key

    def enqueue(
        self, trade_no: str, url: str, fields: Mapping[str, str], at: float | None = None
    ) -> Notify:
        """Queue a notify, its first attempt due `at` (default: now; a scheduler job passes its
        tick's time, so the notify goes in the same tick)."""
        notify_id = secrets.token_hex(16)
        fields = {**fields, "notify_id": notify_id}
        with self._db.transaction() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM notifies").fetchone()[0]
            conn.execute(
                "INSERT INTO notifies (notify_id, seq, trade_no, url, fields, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    notify_id,
                    seq,
                    trade_no,
                    url,
                    json.dumps(dict(fields)),
                    self._clock.now() if at is None else at,
                ),
            )
        return self.get(notify_id)

    def get(self, notify_id: str) -> Notify:
        with self._db.transaction() as conn:
            return _notify(
                conn.execute("SELECT * FROM notifies WHERE notify_id = ?", (notify_id,)).fetchone()
            )

    def all(self, trade_no: str | None = None) -> list[Notify]:
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM notifies WHERE ? IS NULL OR trade_no = ? ORDER BY seq",
                (trade_no, trade_no),
            ).fetchall()
        return [_notify(row) for row in rows]

    # -- the scheduler job -------------------------------------------------------------------
    def next_due(self) -> float | None:
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT MIN(due_at) FROM notifies WHERE state = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def run_due(self, now: float) -> None:
        done: set[str] = set()
        while True:  # again while an attempt released a held one (out of order)
            with self._db.transaction() as conn:
                rows = [
                    row
                    for row in conn.execute(
                        "SELECT * FROM notifies WHERE state = 'pending' AND due_at <= ?"
                        " ORDER BY due_at, seq",
                        (now,),
                    ).fetchall()
                    if row["notify_id"] not in done
                ]
            if not rows:
                return
            for row in rows:
                done.add(row["notify_id"])
                self._attempt(_notify(row), bool(row["held"]), now)

    def _attempt(self, notify: Notify, held: bool, now: float) -> None:
        fault = None if held else self._faults.pick("alipay", FAULT_API)
        kind = fault.kind if fault is not None and fault.kind in NOTIFY_FAULT_KINDS else None
        if kind in ("notify_delayed", "notify_out_of_order"):
            assert fault is not None
            wait = fault.seconds or (60.0 if kind == "notify_delayed" else 240.0)
            self._set(
                notify, due_at=now + wait, held=True, waits_for_next=kind == "notify_out_of_order"
            )
            return
        form = signed_form({**notify.fields, "notify_time": beijing(now)}, self._key)
        if kind == "notify_forged":
            self._send(notify.url, _forged(form))
        delivered = False
        if kind != "notify_lost":
            delivered = self._send(notify.url, form)
            if kind == "notify_duplicated":
                delivered = self._send(notify.url, form) or delivered
        attempts = notify.attempts + 1
        if delivered:
            self._set(notify, attempts=attempts, state="delivered")
        elif attempts >= ATTEMPTS:
            self._set(notify, attempts=attempts, state="given_up")
        else:
            self._set(notify, attempts=attempts, due_at=now + RETRY_AFTER[attempts - 1])
        if kind != "notify_lost":
            self._release_overtaken(notify, now)

    def _release_overtaken(self, sent: Notify, now: float) -> None:
        """Notifies held back out of order go right after a later one to the same URL."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE notifies SET due_at = ? WHERE state = 'pending' AND held = 2"
                " AND url = ? AND seq < ?",
                (now, sent.url, sent.seq),
            )

    def _set(
        self,
        notify: Notify,
        *,
        attempts: int | None = None,
        due_at: float | None = None,
        state: str | None = None,
        held: bool = False,
        waits_for_next: bool = False,
    ) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE notifies SET attempts = COALESCE(?, attempts),"
                " due_at = COALESCE(?, due_at), state = COALESCE(?, state), held = ?"
                " WHERE notify_id = ?",
                (
                    attempts,
                    due_at,
                    state,
                    (2 if waits_for_next else 1) if held else 0,
                    notify.notify_id,
                ),
            )

    def _send(self, url: str, form: Mapping[str, str]) -> bool:
        request = urllib.request.Request(
            url,
            data=urlencode(form).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as response:
                return response.status == 200 and response.read().strip() == b"success"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.info("notify to %s failed: %s", url, exc)
            return False


def _forged(form: Mapping[str, str]) -> dict[str, str]:
    """The same notify for one fen more, signed by a key that is not Alipay's."""
    amount = form.get("total_amount", "0.00")
    yuan, _, fen = amount.partition(".")
    bumped = int(yuan) * 100 + int(fen or "0") + 1
    fields = {**form, "total_amount": f"{bumped // 100}.{bumped % 100:02d}"}
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return signed_form(fields, stranger)


def _notify(row: sqlite3.Row) -> Notify:
    return Notify(
        row["notify_id"],
        row["seq"],
        row["trade_no"],
        row["url"],
        json.loads(row["fields"]),
        row["attempts"],
        row["due_at"],
        row["state"],
    )
