"""The one error the set reader raises: a set it cannot read, said in one line that names the
template and the resource."""

from __future__ import annotations


class SetError(ValueError):
    """The set cannot be read or evaluated; the message names where."""
