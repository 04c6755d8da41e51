"""Catalog, pricing and the business rules of orders: pure functions over plain objects."""
