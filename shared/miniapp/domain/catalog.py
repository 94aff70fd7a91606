"""What the app sells, declared once like a collection: each product's SKU, the subject Alipay
shows the buyer, its price in integer fen and what a paid order grants. A client names a SKU and
never an amount: the price is the catalog's. No I/O.

A grant is extra quota in one collection (`Grant("todos", items=1000)`): a paid order adds it to
the buyer's quota there, once, and a full refund takes it back (services/orders.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .money import MAX_FEN, MIN_FEN, yuan
from .schema import COLLECTION_NAME, DeclarationError, Problem
from .values import is_int

SKU = re.compile(r"[a-z][a-z0-9-]{0,31}")
MAX_SUBJECT_CHARS = 256  # alipay.trade.create's `subject`


@dataclass(frozen=True)
class Grant:
    """What a paid order gives its buyer: `items` more in the collection `collection`."""

    collection: str
    items: int

    def describe(self) -> str:
        return f"+{self.items} {self.collection}"


@dataclass(frozen=True)
class Product:
    """One thing on sale: the client names its `sku`; Alipay shows `subject` to the buyer."""

    sku: str
    subject: str
    amount_fen: int
    grant: Grant

    @property
    def amount(self) -> str:
        return yuan(self.amount_fen)


@dataclass(frozen=True)
class Catalog:
    """The products on sale, checked when declared: a broken catalog is a DeclarationError
    naming each problem, as a broken collection is."""

    products: tuple[Product, ...]

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        seen: set[str] = set()
        for product in self.products:
            where = f"products[{product.sku!r}]"
            if not SKU.fullmatch(product.sku):
                problems.append(Problem(where, f"the sku must match {SKU.pattern}"))
            if product.sku in seen:
                problems.append(Problem(where, "the sku is declared twice"))
            seen.add(product.sku)
            if not product.subject.strip() or len(product.subject) > MAX_SUBJECT_CHARS:
                problems.append(Problem(f"{where}.subject", f"1 to {MAX_SUBJECT_CHARS} characters"))
            if not is_int(product.amount_fen):
                problems.append(Problem(f"{where}.amount_fen", "an integer number of fen"))
            elif not MIN_FEN <= product.amount_fen <= MAX_FEN:
                problems.append(
                    Problem(f"{where}.amount_fen", f"between {MIN_FEN} and {MAX_FEN} fen")
                )
            grant = product.grant
            if not COLLECTION_NAME.fullmatch(grant.collection):
                problems.append(Problem(f"{where}.grant", "names no collection"))
            if not is_int(grant.items) or grant.items < 1:
                problems.append(Problem(f"{where}.grant.items", "a positive integer"))
        if problems:
            raise DeclarationError(tuple(problems))

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(p.sku for p in self.products)

    def get(self, sku: str) -> Product | None:
        return next((p for p in self.products if p.sku == sku), None)
