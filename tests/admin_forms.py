"""Posting the Django admin's forms as staff would: the form as the page renders it, with
some fields changed."""

import re
from html.parser import HTMLParser


class FormFields(HTMLParser):
    """The fields a browser would post from a page's form (the admin's change form)."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.setdefault(name, []).append(a.get("value") or "on")
                return
            self.data.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.data.setdefault(self._select, []).append(a.get("value") or "")
        elif tag == "textarea":
            self._textarea = name
            self.data.setdefault(name, []).append("")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data


def admin_post(client, url, **changes):
    """Post the admin's form at `url` as staff would, with `changes` (None: unticked)."""
    page = client.get(url)
    assert page.status_code == 200
    fields = FormFields()
    fields.feed(page.content.decode())
    data = {**fields.data, **{k: [v] for k, v in changes.items() if v is not None}}
    for name in [k for k, v in changes.items() if v is None]:
        data.pop(name, None)
    response = client.post(url, data)
    assert response.status_code == 302, re.findall(r"errorlist.{0,300}", response.content.decode())
