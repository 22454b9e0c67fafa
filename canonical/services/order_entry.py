"""Orders placed through the hub's order process API: checking a request, then writing the order.

The check collects every refusal of a request at once, each naming the field of the body it
concerns (a JSON pointer), so a partner can fix them all in one go:

* the customer must be active and a sold-to account;
* the ship-to must be active, a ship-to account, and the customer itself or an account below it;
  left out, it is the customer when the customer is a ship-to, else its only ship-to account;
* the bill-to is the customer when it is a bill-to account, else the nearest bill-to account
  below it, else the nearest above it;
* every SKU must exist and be active, every quantity positive, and every line must have a price
  (canonical.services.pricing, in the customer's currency); a unit price sent with a line must
  equal the hub's price for it (a stale quote is refused, not silently repriced).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import (
    Customer,
    CustomerStatus,
    EntityType,
    ExternalRef,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductStatus,
    System,
)
from canonical.models.base import line_amount_over_max, money_over_max
from canonical.services.availability import (
    line_promise,
    products_short,
    products_with_stock_read,
    storable_skus,
    supply_by_product,
)
from canonical.services.credit import credit_chain
from canonical.services.events import event_record
from canonical.services.inserts import rows_insert, write_batch
from canonical.services.orders import DuplicateReference
from canonical.services.prepared import Read, reads_together
from canonical.services.pricing import Price, prices_read
from canonical.services.refs import external_ref_bind

_CENT = Decimal("0.01")


class OrderRefused(BusinessRuleViolation):
    slug = "order-refused"
    title = "Order refused"


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: Decimal
    unit_price: Decimal | None = None
    requested_date: datetime.date | None = None


@dataclass
class CheckedLine:
    line_number: int
    product: Product
    quantity: Decimal
    price: Price
    requested_date: datetime.date | None
    promised_date: datetime.date
    promise_source: str

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.price.unit_price).quantize(_CENT)


@dataclass
class CheckedOrder:
    customer: Customer
    ship_to: Customer
    bill_to: Customer
    currency: str
    lines: list[CheckedLine]
    requested_date: datetime.date | None = None
    customer_po: str = ""
    problems: list[dict] = field(default_factory=list)
    chain: list[Customer] = field(default_factory=list)  # credit_chain(customer), read once for the order
    carried: list = field(default_factory=list)  # the answers of the reads order_request_check's reads_with gave

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def promised_date(self) -> datetime.date | None:
        return max((line.promised_date for line in self.lines), default=None)


@dataclass(frozen=True)
class CheckScope:
    """What an order request names, resolved, before its products and prices are read: for reads_with."""

    customer: Customer
    ship_to: Customer
    chain: list[Customer]
    skus: list[str]
    line_count: int


def _problem(pointer: str, message: str) -> dict:
    return {"pointer": pointer, "field": pointer.rsplit("/", 1)[-1], "messages": [message]}


def _is_below(account: Customer, ancestor: Customer) -> bool:
    return any(node.pk == ancestor.pk for node in credit_chain(account))


def _default_ship_to(customer: Customer) -> Customer | None:
    if customer.is_ship_to:
        return customer
    sites = list(Customer.objects.filter(parent=customer, is_ship_to=True, status=CustomerStatus.ACTIVE)[:2])
    return sites[0] if len(sites) == 1 else None


def ship_to_resolve(customer: Customer, ship_to: Customer | None) -> tuple[Customer | None, list[dict]]:
    """Where ``customer``'s order ships, and the problems with it: the ship-to named (which must be in
    the customer's hierarchy), else the customer's default (itself when it is a ship-to, else its one
    active ship-to site; with several or none, the order must name one)."""
    if ship_to is not None:
        return ship_to, ship_to_problems(customer, ship_to)
    ship_to = _default_ship_to(customer)
    if ship_to is None:
        return None, [_problem(
            "/ship_to", f"Account {customer.account_number} has several or no ship-to accounts; name one."
        )]
    return ship_to, []


def bill_to_for(customer: Customer, chain: list[Customer] | None = None) -> Customer:
    """Who is invoiced for ``customer``'s orders (see the module docstring). ``chain``: credit_chain(customer)."""
    if customer.is_bill_to:
        return customer
    below = Customer.objects.filter(parent=customer, is_bill_to=True).order_by("id").first()
    if below is not None:
        return below
    for account in (chain or credit_chain(customer))[1:]:
        if account.is_bill_to:
            return account
    return customer


def customer_problems(customer: Customer, pointer: str = "/customer") -> list[dict]:
    problems = []
    if customer.status != CustomerStatus.ACTIVE:
        problems.append(_problem(pointer, f"Account {customer.account_number} is {customer.status}, not active."))
    if not customer.is_sold_to:
        problems.append(_problem(
            pointer, f"Account {customer.account_number} is not a sold-to account; order as the account above it."
        ))
    return problems


def ship_to_problems(customer: Customer, ship_to: Customer, pointer: str = "/ship_to") -> list[dict]:
    problems = []
    if ship_to.pk != customer.pk and not _is_below(ship_to, customer):
        problems.append(_problem(
            pointer, f"Account {ship_to.account_number} is not in the hierarchy of {customer.account_number}."
        ))
    if not ship_to.is_ship_to:
        problems.append(_problem(pointer, f"Account {ship_to.account_number} is not a ship-to account."))
    if ship_to.status != CustomerStatus.ACTIVE:
        problems.append(_problem(pointer, f"Account {ship_to.account_number} is {ship_to.status}, not active."))
    return problems


def order_request_check(
    *,
    customer: Customer,
    ship_to: Customer | None,
    lines: list[LineRequest],
    requested_date: datetime.date | None = None,
    customer_po: str = "",
    today: datetime.date | None = None,
    reads_with: Callable[[CheckScope], tuple[Read, ...]] | None = None,
) -> CheckedOrder:
    """Check an order request; refuse it with every problem named (OrderRefused, 422) or return it priced.

    ``reads_with``: statements of the caller's that go before the check's products and prices, in
    their round trip (an order's credit decision's: hub.workflows.orders.order_submit_reads); their
    answers are the checked order's ``carried``, empty when they were not sent (no ship-to, no SKU).
    Their locks last as long as the transaction: check and place the order in the same one.
    """
    if reads_with is not None and not connection.in_atomic_block:
        raise RuntimeError("order_request_check(reads_with=...) must run in the transaction that places the order.")
    today = today or timezone.localdate()
    problems = customer_problems(customer)
    ship_to, ship_to_refused = ship_to_resolve(customer, ship_to)
    problems.extend(ship_to_refused)
    # The products with their stock, and what prices them for the customer: one round trip.
    wanted = storable_skus(line.sku for line in lines)
    chain = credit_chain(customer)  # for the prices, the bill-to and the credit decision
    products, stock, book, carried = {}, {}, None, []
    if wanted:
        along = ()
        if reads_with is not None and ship_to is not None:
            along = reads_with(CheckScope(customer=customer, ship_to=ship_to, chain=chain, skus=wanted,
                                          line_count=len(lines)))
        *carried, (products, stock), book = reads_together(
            *along, products_with_stock_read(wanted),
            prices_read(customer=customer, skus=wanted, on_date=today, chain=chain),
        )
    known = []
    for index, line in enumerate(lines):
        product = products.get(line.sku)
        if product is None:
            problems.append(_problem(f"/lines/{index}/sku", f"No product with SKU '{line.sku}'."))
            continue
        if product.status != ProductStatus.ACTIVE:
            problems.append(_problem(f"/lines/{index}/sku", f"SKU '{line.sku}' is {product.status}, not active."))
            continue
        if line.quantity <= 0:
            problems.append(_problem(f"/lines/{index}/quantity", "The quantity must be positive."))
            continue
        known.append((index, line, product))
    prices = book.prices([(product, line.quantity) for _, line, product in known]) if known else []
    supply = supply_by_product(products_short(((p, line.quantity) for _, line, p in known), stock), today=today)
    checked = []
    for (index, line, product), price in zip(known, prices, strict=True):
        if price is None:
            problems.append(_problem(
                f"/lines/{index}/sku",
                f"No price for SKU '{line.sku}' and quantity {line.quantity} for account "
                f"{customer.account_number} in {customer.currency}.",
            ))
            continue
        if line.unit_price is not None and line.unit_price.quantize(_CENT) != price.unit_price:
            problems.append(_problem(
                f"/lines/{index}/unit_price",
                f"The hub's price for SKU '{line.sku}' is {price.unit_price} {price.currency} ({price.rule}), "
                f"not {line.unit_price}; quote again.",
            ))
            continue
        if too_large := line_amount_over_max(line.quantity, price.unit_price, price.currency):
            problems.append(_problem(f"/lines/{index}/quantity", too_large))
            continue
        wanted = line.requested_date or requested_date
        promise = line_promise(product=product, quantity=line.quantity, requested_date=wanted,
                               stock=stock.get(product.pk, []), supply=supply.get(product.pk, []), today=today)
        checked.append(CheckedLine(
            line_number=index + 1, product=product, quantity=line.quantity, price=price, requested_date=wanted,
            promised_date=promise.promised_date, promise_source=promise.source,
        ))
    if not problems and (too_large := money_over_max(
            sum((line.amount for line in checked), Decimal("0.00")), "The order's total")):
        problems.append(_problem("/lines", too_large + " Split it into several orders."))
    if problems:
        raise OrderRefused(
            "The order cannot be accepted: " + "; ".join(f"{p['pointer']}: {p['messages'][0]}" for p in problems[:5])
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""),
            errors=problems,
        )
    return CheckedOrder(
        customer=customer, ship_to=ship_to, bill_to=bill_to_for(customer, chain), currency=customer.currency,
        lines=checked, requested_date=requested_date, customer_po=customer_po, chain=chain, carried=carried,
    )


def order_representation(order: Order, lines: list[OrderLine], external_refs: list[dict]) -> dict:
    """The order as OrderSerializer shows it, from objects in memory (lines with product and location loaded)."""
    from canonical.serializers.orders import order_as_dict

    return order_as_dict(order, lines, external_refs)


def order_number(pk: int) -> str:
    return f"HUB-{pk:07d}"


_PLACED = "orders placed"  # the WriteBatch rows of the orders placed in it


@functools.cache
def _ids_sql(database: str) -> str:
    """order_ids_read's statement on PostgreSQL, with the two sequences named in it (looked up once per
    database). With the tables as parameters, the server looked each sequence up for every id, and
    with ``generate_series(1, n)`` it planned the statement anew on every call: a generic plan priced
    for a series of unknown length (1,000 rows) never looked cheap enough. An array of n elements is
    priced the same with or without its length."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')",
                       [connection.ops.quote_name(Order._meta.db_table),
                        connection.ops.quote_name(OrderLine._meta.db_table)])
        order_sequence, line_sequence = (name.replace("'", "''") for name in cursor.fetchone())
    return (f"SELECT nextval('{order_sequence}'::regclass), ARRAY(SELECT nextval('{line_sequence}'::regclass) "
            "FROM unnest(array_fill(0, ARRAY[%s::integer])))")


def order_ids_read(lines: int) -> Read:
    """The statement that takes the ids of a new order and its ``lines`` lines, before the rows are written.

    PostgreSQL takes them from the tables' sequences, in one statement. SQLite numbers rows
    after the largest id it has handed out (AUTOINCREMENT keeps it in sqlite_sequence); the
    transaction is immediate, so no other can write the tables before this one's INSERTs do.
    Answers (order id, [line ids]).
    """
    order_table, line_table = Order._meta.db_table, OrderLine._meta.db_table
    if connection.vendor == "postgresql":
        return Read(_ids_sql(connection.settings_dict["NAME"]), [lines], (None, None),
                    answer=lambda rows: (rows[0][0], list(rows[0][1])))

    def numbered(rows: list[tuple]) -> tuple[int, list[int]]:
        [(order_seq, line_seq)] = rows
        # Orders placed earlier in the same batch are not written yet: their ids are taken too.
        pending = write_batch().collected_rows(_PLACED)
        order_seq = max([order_seq or 0, *(placed.order.pk for placed in pending)])
        line_seq = max([line_seq or 0, *(line.pk for placed in pending for line in placed.lines)])
        return order_seq + 1, [line_seq + number for number in range(1, lines + 1)]

    sql = "SELECT (SELECT seq FROM sqlite_sequence WHERE name = %s), (SELECT seq FROM sqlite_sequence WHERE name = %s)"
    return Read(sql, [order_table, line_table], (None, None), answer=numbered)


def _order_write(placement: Placement) -> None:
    """Queue the INSERTs of a placed order and its lines for the end of the caller's writes_batched.

    The rows are written as the instances are then, after allocation has set the lines' quantities
    and the order's status: each row is written once. Their timestamps are the ones set in memory
    (and shown in ``order.created`` and the answer).
    """
    def write(placements: list[Placement]) -> None:
        orders = [placed.order for placed in placements]
        lines = [line for placed in placements for line in placed.lines]
        rows_insert(orders, read_back=False, keep_stamps=True)
        rows_insert(lines, read_back=False, keep_stamps=True)
        for instance in (*orders, *lines):
            instance._state.adding, instance._state.db = False, connection.alias

    write_batch().rows(_PLACED, write).append(placement)


@dataclass
class Placement:
    order: Order
    lines: list[OrderLine]
    external_refs: list[dict]


def order_place(
    *,
    checked: CheckedOrder,
    status: str,
    source_system: System | None,
    actor: Actor,
    external_id: str = "",
    ids: tuple[int, list[int]] | None = None,
) -> Placement:
    """Place a checked order with its lines (status validated, or credit_hold when held) and ``order.created``.

    Runs inside writes_batched (the order submission's): the order and its lines have their ids
    at once and are written when the batch is sent, as they are then (see _order_write), so the
    allocation that follows in the same block writes no UPDATE of them. Until then ``_state.adding``
    says they are not written; nothing in the block may read them back from the database.
    ``external_id`` is the source system's own id for the order; one system, one id per order.
    ``ids``: the answer of order_ids_read, when the caller has read it in the same round trip as
    other statements (it must have been read inside the same writes_batched); read here otherwise.
    """
    if status not in (OrderStatus.VALIDATED, OrderStatus.CREDIT_HOLD):
        raise ValueError(f"An order is placed validated or on credit hold, not {status}.")
    if write_batch() is None:
        raise RuntimeError("order_place must run inside writes_batched(): the order is written when it ends.")
    with transaction.atomic(savepoint=False):
        if external_id and source_system is not None:
            taken = (
                ExternalRef.objects.filter(system=source_system, entity_type=EntityType.ORDER, external_id=external_id)
                .values_list("object_id", flat=True).first()
            )
            if taken is not None:
                number = Order.objects.filter(pk=taken).values_list("number", flat=True).first()
                raise DuplicateReference(
                    f"'{source_system.code}' order '{external_id}' is already hub order {number}.",
                    number=number, external_id=external_id,
                    errors=[_problem("/external_id", "Already used for another order.")],
                )
        order_id, line_ids = ids or reads_together(order_ids_read(len(checked.lines)))[0]
        if len(line_ids) != len(checked.lines):
            raise ValueError(f"{len(line_ids)} line ids for {len(checked.lines)} lines.")
        now = timezone.now()
        order = Order(
            pk=order_id, number=order_number(order_id),
            customer=checked.customer, ship_to=checked.ship_to, bill_to=checked.bill_to, status=status,
            currency=checked.currency, total_amount=checked.total, customer_po=checked.customer_po,
            placed_at=now, requested_date=checked.requested_date, promised_date=checked.promised_date,
            source_system=source_system, correlation_id=actor.correlation_id, created_at=now, updated_at=now,
        )
        lines = [
            OrderLine(
                pk=line_id, order=order, line_number=line.line_number, product=line.product, location=None,
                quantity_ordered=line.quantity, unit_price=line.price.unit_price, price_rule=line.price.rule,
                requested_date=line.requested_date, promised_date=line.promised_date,
                is_drop_ship=line.product.drop_ship, created_at=now, updated_at=now,
            )
            for line, line_id in zip(checked.lines, line_ids, strict=True)
        ]
        refs = []
        if external_id and source_system is not None:
            external_ref_bind(system=source_system, entity_type=EntityType.ORDER, external_id=external_id,
                              object_id=order.pk)
            refs = [{"system": source_system.code, "external_id": external_id}]
        placement = Placement(order=order, lines=lines, external_refs=refs)
        _order_write(placement)
        event_record(
            event_type="order.created", aggregate_type="order", aggregate_id=order.pk,
            payload={"order": order_representation(order, lines, refs)}, actor=actor,
        )
    return placement
