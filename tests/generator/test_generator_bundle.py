"""The bundle's packing: the one-liner's constants, module order, the compact policy, and the
minifier's renaming of self and of parameters no caller can name."""

import json
import lzma

import pytest

from generator import bundle
from tests.set_helpers import REPO


def test_the_unpack_one_liner_names_lzmas_constants_by_their_values():
    assert "3,None,[{'id':33}]" in bundle.UNPACK_CODE
    assert (lzma.FORMAT_RAW, lzma.FILTER_LZMA2) == (3, 33)


def test_modules_are_packed_after_the_modules_they_import():
    sources = {
        "a.py": "from .c import x\n",
        "b.py": "import os\n",
        "c.py": "from .b import y\nfrom . import z\n",
        "d.py": "from .missing import w\n",
    }
    assert bundle.import_order(sources) == ["b.py", "c.py", "a.py", "d.py"]
    with pytest.raises(ValueError, match="circular"):
        bundle.import_order({"a.py": "from .b import x\n", "b.py": "from .a import y\n"})


def test_the_shipped_policy_is_the_same_document_compacted():
    text = (REPO / "appliance" / "install" / "policy.json").read_text()
    shipped = bundle.build().policy
    assert json.loads(shipped) == json.loads(text)
    assert ": " not in shipped and ", " not in shipped
    assert len(shipped.splitlines()) == len(json.loads(text)["rules"]) + 2  # a rule a line
    assert json.loads(bundle.compact_policy('{"default": "allow"}')) == {"default": "allow"}


def test_minify_shortens_self_without_clashing():
    source = (
        "class A:\n"
        "    def __init__(self, v):\n"
        "        self.v = v\n"
        "    def f(self, s):\n"
        "        return [self.v + s for _ in (0,)][0]\n"
    )
    short = bundle.minify(source)
    assert "self" not in short and "def f(a,s)" in short
    scope = {}
    exec(compile(short, "m", "exec"), scope)
    assert scope["A"](40).f(2) == 42


def test_minify_renames_only_parameters_no_caller_can_name():
    source = (
        "def _private(value, other):\n"
        "    return value - other\n"
        "def _named(value):\n"
        "    return value\n"
        "def public(value):\n"
        "    def inner(item):\n"
        "        return item * 2\n"
        "    return inner(_private(value, 1)) + _named(value=0)\n"
    )
    short = bundle.minify(source)
    assert "def public(value)" in short and "def _named(value)" in short
    assert "value" not in short.split("def _named")[0] and "item" not in short
    scope = {}
    exec(compile(short, "m", "exec"), scope)
    assert scope["public"](value=22) == 42
