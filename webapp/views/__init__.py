"""The web pages, one module per area. Each view parses a form, calls one service or
selector of `backend`/`dispatch`, and renders or redirects (POST/redirect/GET)."""
