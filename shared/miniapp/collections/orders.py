"""Orders: what a user bought or is buying, priced by the catalog (miniapp/catalog.py). Only the
server writes them (services/orders.py, docs/payments.md): a client reads them with `get` and
`list`, opens one with `create` (a SKU, never an amount) and asks Alipay about one with `sync`."""

from collections.abc import Mapping
from typing import Any

from ..catalog import CATALOG
from ..domain.ids import check_idempotency_key, check_item_id
from ..domain.orders import STATUSES
from ..domain.records import FirstRead, Scalar
from ..domain.schema import Choice, Collection, CustomOp, Number, Text
from ..services.orders import ORDERS, PaidOrders


def create(user_id: str, orders: PaidOrders, args: Mapping[str, Scalar]) -> dict[str, Any]:
    key = check_idempotency_key(str(args["idempotencyKey"]))
    return orders.create(user_id, str(args["sku"]), key).to_wire()


def sync(user_id: str, orders: PaidOrders, args: Mapping[str, Scalar]) -> dict[str, Any]:
    return orders.sync(user_id, check_item_id(str(args["id"]), "order")).to_wire()


def _order_read(args: Mapping[str, Scalar]) -> tuple[FirstRead, ...]:
    order_id = str(args.get("id", ""))
    return (FirstRead(ORDERS, order_id),) if order_id else ()


COLLECTION = Collection(
    name=ORDERS,
    fields={
        "sku": Choice(CATALOG.skus),
        "subject": Text(max_chars=256, multiline=False),
        "amount": Text(max_chars=16, multiline=False),  # yuan, as Alipay writes it: "9.90"
        "status": Choice(STATUSES),
        "tradeNo": Text(max_chars=64, multiline=False, required=False),
        "refunded": Text(max_chars=16, multiline=False, default="0.00"),
        "paidAt": Number(required=False),  # ms since the epoch, set once
    },
    quota=1000,
    order="newest_first",
    versioned=True,
    idempotent_adds=True,
    client_writes=False,
    ops=(
        CustomOp(
            "create",
            create,
            params={
                "sku": Choice(CATALOG.skus),
                "idempotencyKey": Text(max_chars=64, multiline=False),
            },
            summary='the new order: `{"id", "sku", "amount", "status": "CREATED", "tradeNo", ...}`',
        ),
        CustomOp(
            "sync",
            sync,
            params={"id": Text(min_chars=26, max_chars=26, multiline=False)},
            summary="the order as it stands after asking Alipay",
            first_reads=_order_read,
        ),
    ),
)
