"""Prices for a customer: which rule gives the unit price of a line, in one pass for many lines.

The rules, first match wins, only prices in the customer's currency and valid on the date:

1. ``contract_customer``: a contract price for the customer, or for an account above it in the
   hierarchy (the nearest account's contract wins: a site's own contract beats its parent's);
2. ``contract_group``: a contract price for the customer's group (the nearest account in the
   hierarchy that has a group);
3. ``quantity_break`` / ``list_price``: the price list; default lists first, then by code. Within
   the list the highest break whose minimum quantity the line reaches; ``quantity_break`` when
   that is above the product's lowest break, ``list_price`` otherwise.

Within a contract, rows with a minimum quantity are contract quantity breaks: the highest one the
line reaches applies (ties: the most recent ``valid_from``). A line below every minimum has no
price from that rule. The hub holds no exchange rates: a price in another currency is no price.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from canonical.models import ContractPrice, Customer, PriceList, PriceListItem, Product
from canonical.services.catalog import products_of_skus
from canonical.services.credit import credit_chain
from canonical.services.prepared import Read, in_list, reads_together


class PriceRule:
    CONTRACT_CUSTOMER = "contract_customer"
    CONTRACT_GROUP = "contract_group"
    QUANTITY_BREAK = "quantity_break"
    LIST_PRICE = "list_price"

    ALL = (CONTRACT_CUSTOMER, CONTRACT_GROUP, QUANTITY_BREAK, LIST_PRICE)


@dataclass(frozen=True)
class Price:
    unit_price: Decimal
    rule: str
    currency: str
    source: str  # the contract reference or the price list code
    min_quantity: Decimal

    def as_dict(self) -> dict:
        return {
            "unit_price": str(self.unit_price), "rule": self.rule, "currency": self.currency,
            "source": self.source, "min_quantity": str(self.min_quantity),
        }


@dataclass(frozen=True)
class _Row:
    """A contract price or price list row, as much of it as pricing reads (model instances cost more)."""

    pk: int
    product_id: int
    min_quantity: Decimal
    unit_price: Decimal
    valid_from: datetime.date | None = None
    customer_id: int | None = None
    contract_reference: str = ""


def _best_break(rows: list, quantity: Decimal):
    """The row with the highest minimum quantity the line reaches (latest valid_from on a tie), or None."""
    reached = [row for row in rows if row.min_quantity <= quantity]
    if not reached:
        return None
    return max(reached, key=lambda row: (row.min_quantity, getattr(row, "valid_from", None) or datetime.date.min,
                                         row.pk))


def price_lists_for(*, currency: str | None, on_date: datetime.date) -> list[PriceList]:
    """Price lists valid on ``on_date`` (in ``currency`` when given), default lists first."""
    lists = PriceList.objects.filter(
        (Q(valid_from__isnull=True) | Q(valid_from__lte=on_date)) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
    ).order_by("-is_default", "code")
    if currency:
        lists = lists.filter(currency=currency)
    return list(lists)


def pricing_currency(*, customer: Customer | None, on_date: datetime.date) -> str:
    """The currency lines are priced in: the customer's, else the first default price list's."""
    if customer is not None:
        return customer.currency
    first = next(iter(price_lists_for(currency=None, on_date=on_date)), None)
    return first.currency if first is not None else "USD"


@functools.cache
def _price_rows_sql(vendor: str, with_contracts: bool) -> str:
    quote = connection.ops.quote_name
    contract, item, price_list = (quote(m._meta.db_table) for m in (ContractPrice, PriceListItem, PriceList))
    lists = (
        f"SELECT 'l', i.id, i.product_id, i.min_quantity, i.unit_price, NULL, l.id, l.code, l.is_default "
        f"FROM {item} i INNER JOIN {price_list} l ON l.id = i.price_list_id "
        "WHERE (l.valid_from IS NULL OR l.valid_from <= %s) AND (l.valid_to IS NULL OR l.valid_to >= %s) "
        "AND l.currency = %s AND {products_i}"
    )
    if not with_contracts:
        return lists
    return (
        f"SELECT 'c', c.id, c.product_id, c.min_quantity, c.unit_price, c.valid_from, c.customer_id, "
        f"c.contract_reference, NULL FROM {contract} c "
        "WHERE ({accounts} OR c.customer_group_id = %s) AND c.valid_from <= %s "
        "AND (c.valid_to IS NULL OR c.valid_to >= %s) AND c.currency = %s AND {products_c} "
        f"UNION ALL {lists}"
    )


def prices_read(
    *, customer: Customer | None, skus: Sequence[str], on_date: datetime.date, currency: str | None = None,
    chain: list[Customer] | None = None,
) -> Read:
    """The statement that reads what prices the products with ``skus`` for ``customer`` (None: list prices
    only): its contract prices, its group's, and the price list items, in one query.

    Its answer is a PriceBook; PriceBook.prices gives each line's price. SKUs no product has
    simply find nothing. For reads_together (an order's check sends it with the products' read).
    ``chain``: credit_chain(customer), when the caller has it.
    """
    currency = currency or pricing_currency(customer=customer, on_date=on_date)
    if customer is None:
        chain = []
    elif chain is None:
        chain = credit_chain(customer)
    rank = {account.pk: index for index, account in enumerate(chain)}
    group_id = next((account.group_id for account in chain if account.group_id), None)
    day = connection.ops.adapt_datefield_value(on_date)
    skus = sorted(set(skus))
    products_i, products_i_params = products_of_skus("i.product_id", skus)
    with_contracts = bool(rank or group_id)
    params = []
    parts = {"products_i": products_i}
    if with_contracts:
        accounts, accounts_params = in_list("c.customer_id", list(rank))
        products_c, products_c_params = products_of_skus("c.product_id", skus)
        parts.update(accounts=accounts, products_c=products_c)
        params += [*accounts_params, group_id, day, day, currency, *products_c_params]
    params += [day, day, currency, *products_i_params]
    sql = _price_rows_sql(connection.vendor, with_contracts).format(**parts)
    money, quantity = PriceListItem._meta.get_field("unit_price"), PriceListItem._meta.get_field("min_quantity")
    fields = (None, None, None, quantity, money, ContractPrice._meta.get_field("valid_from"), None, None,
              PriceList._meta.get_field("is_default"))
    return Read(sql, params, fields, answer=lambda rows: PriceBook(currency, len(chain), rank, rows))


class PriceBook:
    """The contract prices and price list items read for a customer and some products (prices_read).

    Rows: (kind "c" or "l", id, product, min quantity, unit price, valid from, customer id or
    price list id, contract reference or price list code, list is default).
    """

    def __init__(self, currency: str, accounts: int, rank: dict[int, int], rows: list[tuple]):
        self.currency, self.accounts = currency, accounts
        self.by_customer: dict[tuple[int, int], list] = defaultdict(list)  # (product, account rank) → rows
        self.by_group: dict[int, list] = defaultdict(list)
        self.items: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))  # product → list → rows
        self.list_key: dict[int, tuple] = {}
        self.list_code: dict[int, str] = {}
        for kind, pk, product_id, min_quantity, unit_price, valid_from, owner_id, reference, is_default in rows:
            if kind == "c":
                row = _Row(pk, product_id, min_quantity, unit_price, valid_from, owner_id, reference)
                if owner_id is not None:
                    self.by_customer[(product_id, rank[owner_id])].append(row)
                else:
                    self.by_group[product_id].append(row)
            else:  # a price list item: owner_id is the list, reference its code
                self.items[product_id][owner_id].append(_Row(pk, product_id, min_quantity, unit_price))
                self.list_key[owner_id] = (not is_default, reference)
                self.list_code[owner_id] = reference

    def prices(self, lines: Sequence[tuple[Product, Decimal]]) -> list[Price | None]:
        """The price of each (product, quantity), in order; None where no rule gives a price."""
        currency = self.currency
        prices: list[Price | None] = []
        for product, quantity in lines:
            price = None
            for index in range(self.accounts):
                row = _best_break(self.by_customer.get((product.pk, index), []), quantity)
                if row is not None:
                    price = Price(row.unit_price, PriceRule.CONTRACT_CUSTOMER, currency,
                                  row.contract_reference or f"contract:{row.pk}", row.min_quantity)
                    break
            if price is None:
                row = _best_break(self.by_group.get(product.pk, []), quantity)
                if row is not None:
                    price = Price(row.unit_price, PriceRule.CONTRACT_GROUP, currency,
                                  row.contract_reference or f"contract:{row.pk}", row.min_quantity)
            if price is None:
                for list_id in sorted(self.items.get(product.pk, {}), key=self.list_key.__getitem__):
                    rows = self.items[product.pk][list_id]
                    row = _best_break(rows, quantity)
                    if row is None:
                        continue
                    lowest = min(r.min_quantity for r in rows)
                    rule = PriceRule.QUANTITY_BREAK if row.min_quantity > lowest else PriceRule.LIST_PRICE
                    price = Price(row.unit_price, rule, currency, self.list_code[list_id], row.min_quantity)
                    break
            prices.append(price)
        return prices


def prices_find(
    *,
    customer: Customer | None,
    lines: Sequence[tuple[Product, Decimal]],
    on_date: datetime.date,
    currency: str | None = None,
) -> list[Price | None]:
    """The price of each (product, quantity) for ``customer`` (None: list prices only), in order.

    A fixed number of queries whatever the number of lines. None where no rule gives a price.
    """
    if not lines:
        return []
    read = prices_read(customer=customer, skus=[product.sku for product, _ in lines], on_date=on_date,
                       currency=currency)
    return reads_together(read)[0].prices(lines)
