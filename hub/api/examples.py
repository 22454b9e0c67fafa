"""The request examples of the process APIs' documentation (OpenAPI, README): demo data of `make run`.

Acme Plumbing Inc. is the demo's first account (its CRM id is fixed by the demo's seed) and is its
own ship-to; the SKUs are priced on the demo's list price list. tests/hub/test_demo_examples.py
sends these, and the README's, to a hub loaded with the demo data.
"""

DEMO_CUSTOMER = {"system": "crm", "external_id": "0015g000002ZS4a5jh"}

QUOTE_EXAMPLE = {
    "customer": DEMO_CUSTOMER,
    "lines": [{"sku": "PLB-10001", "quantity": "24", "requested_date": "2030-03-10"},
              {"sku": "ELE-10554", "quantity": "2"}],
}

ORDER_EXAMPLE = {
    "customer": DEMO_CUSTOMER,
    "ship_to": DEMO_CUSTOMER,
    "customer_po": "PO-4471",
    "lines": [{"sku": "PLB-10001", "quantity": "24", "requested_date": "2030-03-10"},
              {"sku": "ELE-10554", "quantity": "2", "unit_price": "1.89"}],
}
