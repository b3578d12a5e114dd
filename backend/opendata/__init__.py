"""Open data: what Samby publishes to anyone, without a login (the shared cars as GBFS)."""
