"""Web forms: they parse and check what a person typed; the rules are in the services."""

from django import forms


class Form(forms.Form):
    """Labels without the trailing colon: read aloud, "Time" is cleaner than "Time:"."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
