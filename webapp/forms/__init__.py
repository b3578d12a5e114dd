"""Web forms: they parse and check what a person typed; the rules are in the services."""
