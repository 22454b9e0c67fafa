"""The demo distributor behind ``manage.py seed_demo``: accounts, catalogue, stock, suppliers and order history.

``builder`` is the entry point; each other module builds one part, planned from a
seed so the same seed always gives the same distributor.
"""
