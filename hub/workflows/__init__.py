"""Process orchestration across canonical services and connectors: one module per flow."""
