"""The demo catalog (domain/catalog.py says how a catalog is declared): `pro` raises the buyer's
todo quota. Change what is sold here; docs/payments.md says what else a real shop needs."""

from .domain.catalog import Catalog, Grant, Product

CATALOG = Catalog(
    products=(
        Product(
            sku="pro",
            subject="Todo Pro: 1,000 more todos",
            amount_fen=990,  # 9.90 yuan
            grant=Grant("todos", items=1000),
        ),
    )
)
