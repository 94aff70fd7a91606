"""The apps the local Alipay gateway knows, each with how it signs and how it names users.

On the real platform every app (AppId) has its own registered key or certificate, and Alipay is
moving apps from `user_id` to `open_id` (its openid guide): an app in openid mode gets `open_id`,
a per-app user id, where it used to get the global `user_id`; during an app's verification phase
the replies carry both. Each app here has one of three identity modes, switchable while the
gateway runs (the users, codes and tokens stay):

    user_id   replies name the user by `user_id` (2088 + 12 digits), as before
    both      replies carry `user_id` and `open_id` (the verification phase)
    open_id   replies carry `open_id` only

An open_id is opaque, stable for one (user, app) and different across apps. Ours are made up once
and kept. Their shape follows the example Alipay's own SDK documentation uses for `open_id`
(`074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5`: 47 letters and digits, starting `0`); Alipay
documents no format, so clients must treat it as an opaque string, and so does the product.

An app has signed up for payments (the JSAPI payment product) unless registered without it: the
trade methods of one that has not are refused with 40006 isv.insufficient-isv-permissions, as
Alipay refuses a method whose product the app has not signed up for or added.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import string
from dataclasses import dataclass

from ..state import Database

IDENTITY_MODES = ("user_id", "both", "open_id")
SIGNING_MODES = ("key", "cert")
_OPEN_ID_ALPHABET = string.digits + string.ascii_letters
_OPEN_ID_LENGTH = 47

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    app_id TEXT PRIMARY KEY,
    public_key_pem TEXT NOT NULL,
    signing TEXT NOT NULL,
    app_cert_sn TEXT NOT NULL,
    identity TEXT NOT NULL,
    payments INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS open_ids (
    app_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    open_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (app_id, user_id)
)
"""


class UnknownApp(LookupError):
    """No app with that AppId is registered."""


@dataclass(frozen=True)
class App:
    app_id: str
    public_key_pem: str  # the app's public key, as uploaded (or inside its certificate)
    signing: str  # "key": RSA2 with the uploaded key; "cert": RSA2 plus certificate serials
    app_cert_sn: str  # the serial number of its certificate ("" in key mode)
    identity: str  # one of IDENTITY_MODES
    payments: bool = True  # signed up for the payment product (the trade methods)

    def to_dict(self) -> dict[str, str]:
        return {
            "appId": self.app_id,
            "signing": self.signing,
            "identity": self.identity,
            "sellerId": seller_id(self.app_id),
        }


class AppRegistry:
    def __init__(self, db: Database) -> None:
        self._db = db
        with db.transaction() as conn:  # state written before apps had products: all had it
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(apps)")}
            if "payments" not in columns:
                conn.execute("ALTER TABLE apps ADD COLUMN payments INTEGER NOT NULL DEFAULT 1")

    def register(
        self,
        app_id: str,
        public_key_pem: str,
        *,
        signing: str = "key",
        app_cert_sn: str = "",
        identity: str | None = None,
        payments: bool | None = None,
    ) -> App:
        """Add the app, or update its key and signing mode. `identity` and `payments` None keep
        what it has (user_id and payments for a new app), so a restart does not undo a switch."""
        if signing not in SIGNING_MODES:
            raise ValueError(f"signing must be one of {', '.join(SIGNING_MODES)}")
        if identity is not None:
            _check_mode(identity)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT identity, payments FROM apps WHERE app_id = ?", (app_id,)
            ).fetchone()
            mode = identity or (row["identity"] if row is not None else "user_id")
            if payments is None:
                payments = bool(row["payments"]) if row is not None else True
            conn.execute(
                "INSERT INTO apps"
                " (app_id, public_key_pem, signing, app_cert_sn, identity, payments)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(app_id) DO UPDATE SET"
                " public_key_pem = excluded.public_key_pem, signing = excluded.signing,"
                " app_cert_sn = excluded.app_cert_sn, identity = excluded.identity,"
                " payments = excluded.payments",
                (app_id, public_key_pem, signing, app_cert_sn, mode, int(payments)),
            )
        return self.get(app_id)

    def get(self, app_id: str) -> App:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT * FROM apps WHERE app_id = ?", (app_id,)).fetchone()
        if row is None:
            raise UnknownApp(app_id)
        return App(
            row["app_id"],
            row["public_key_pem"],
            row["signing"],
            row["app_cert_sn"],
            row["identity"],
            bool(row["payments"]),
        )

    def find(self, app_id: str) -> App | None:
        try:
            return self.get(app_id)
        except UnknownApp:
            return None

    def all(self) -> list[App]:
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT app_id FROM apps ORDER BY app_id").fetchall()
        return [self.get(row["app_id"]) for row in rows]

    def set_identity(self, app_id: str, mode: str) -> App:
        _check_mode(mode)
        with self._db.transaction() as conn:
            changed = conn.execute(
                "UPDATE apps SET identity = ? WHERE app_id = ?", (mode, app_id)
            ).rowcount
        if not changed:
            raise UnknownApp(app_id)
        return self.get(app_id)

    def open_id(self, app_id: str, user_id: str) -> str:
        """The user's open_id for this app: made up on first need, the same ever after."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT open_id FROM open_ids WHERE app_id = ? AND user_id = ?", (app_id, user_id)
            ).fetchone()
            if row is not None:
                return str(row["open_id"])
            while True:
                candidate = "0" + "".join(
                    secrets.choice(_OPEN_ID_ALPHABET) for _ in range(_OPEN_ID_LENGTH - 1)
                )
                try:
                    conn.execute(
                        "INSERT INTO open_ids (app_id, user_id, open_id) VALUES (?, ?, ?)",
                        (app_id, user_id, candidate),
                    )
                except sqlite3.IntegrityError:
                    continue  # another user already has this open_id (62^46 to one, but still)
                return candidate

    def user_of_open_id(self, app_id: str, open_id: str) -> str | None:
        """The user an open_id of this app stands for (None: no such open_id for this app)."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT user_id FROM open_ids WHERE app_id = ? AND open_id = ?", (app_id, open_id)
            ).fetchone()
        return str(row["user_id"]) if row is not None else None

    def identity_fields(self, app: App, user_id: str) -> dict[str, str]:
        """How a reply to `app` names the user, by the app's current mode."""
        fields: dict[str, str] = {}
        if app.identity in ("both", "open_id"):
            fields["open_id"] = self.open_id(app.app_id, user_id)
        if app.identity in ("both", "user_id"):
            fields["user_id"] = user_id
        return fields


def seller_id(app_id: str) -> str:
    """The merchant (partner) id behind an app, the `seller_id` of its notifies: 2088 and 12
    digits, stable per app."""
    digits = str(int(hashlib.sha256(app_id.encode()).hexdigest(), 16))[-12:]
    return "2088" + digits.rjust(12, "0")


def _check_mode(mode: str) -> None:
    if mode not in IDENTITY_MODES:
        raise ValueError(f"identity mode must be one of {', '.join(IDENTITY_MODES)}")
