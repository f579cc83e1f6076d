"""Packs the appliance for EC2 user data: its modules, minified (no docstrings, comments,
annotations or optional spaces; short local names), joined, compressed with LZMA2 and written as
base93 text that a python3 one-liner in runcmd unpacks into /opt/gwlb-appliance/appliance/; the
unit and policy stay readable text. Also unpacks it exactly that way, and finds the Python it
ships for, so tests and benchmarks run the appliance as shipped."""

from __future__ import annotations

import ast
import builtins
import glob
import io
import itertools
import json
import keyword
import lzma
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APPLIANCE_DIR = REPO / "appliance"
INSTALL_ROOT = "/opt/gwlb-appliance"
# generator/userdata still passes this to the template, which no longer writes a tar.
ENCODED_PATH = f"{INSTALL_ROOT}/appliance.b93"
# Raw LZMA2 (no .xz container: 60 bytes less), literal context 3 and no position bits, which
# suit text; the decoder's defaults read it. The payload is "name NUL source NUL" per module:
# a tar's headers would cost about 330 bytes more.
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "lc": 3, "pb": 0}]
# The text: the LZMA2 stream as one big number written in base 93, the printable ASCII
# characters but "$" (so no "${" for Fn::Sub to misread) and space: 1.224 characters per byte,
# where base64 takes 1.333 and ASCII85 1.25. The stream's first byte is never 0 (LZMA2 chunks
# start with 1, 2 or 0x80-0xFF), so the number's length gives the stream's. The one-liner names
# lzma's constants by value (liblzma's ABI: LZMA_FORMAT_RAW 3, LZMA_FILTER_LZMA2 0x21), and
# passes lzma.decompress(data, format, memlimit, filters) positionally: 30 bytes less user data.
DIGITS = "".join(c for c in map(chr, range(33, 127)) if c != "$")
UNPACK_CODE = (
    "import functools,lzma,os,sys;a,r=sys.argv[1:];n=functools.reduce(lambda n,c:n*93+c-33-(c>36)"
    ",open(a,'rb').read().strip(),0);d=lzma.decompress(n.to_bytes(n.bit_length()+7>>3,'big'),"
    "3,None,[{'id':33}]).split(b'\\0');r+='/appliance/';"
    "os.makedirs(r,exist_ok=True);[open(r+f.decode(),'wb').write(s)for f,s in zip(d[::2],d[1::2])]"
)
UNPACK = ["python3", "-c", UNPACK_CODE, ENCODED_PATH, INSTALL_ROOT]
# The socket queue the appliance asks for (8 MiB) needs net.core.rmem_max raised at boot, so the
# service needs no CAP_NET_ADMIN (SO_RCVBUFFORCE) at run time.
SYSCTL_PATH = "/etc/sysctl.d/90-gwlb-appliance.conf"
UNIT_PATH = "/etc/systemd/system/gwlb-appliance.service"
POLICY_PATH = "/etc/gwlb-appliance/policy.json"


@dataclass(frozen=True)
class Bundle:
    archive_text: str  # base93 of the raw LZMA2 of every appliance/*.py, minified
    unit: str
    policy: str
    source_size: int  # bytes of the modules as written
    packed_size: int  # bytes of the LZMA2 stream
    # Where the template writes the text and the sysctl file, and the unpack command as a YAML
    # flow sequence (JSON strings are YAML scalars) for runcmd.
    encoded_path: str = ENCODED_PATH
    sysctl_path: str = SYSCTL_PATH
    unpack: str = "[" + ", ".join(json.dumps(a) for a in UNPACK) + "]"


def strip_source(source: str) -> str:
    """The same program without docstrings and comments: user data has 16 KB, prose stays in git."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
    text = ast.unparse(tree) + "\n"
    # One space per indentation level instead of four: gzip keeps about 3 % more room for code.
    narrow = "".join(
        " " * ((len(line) - len(line.lstrip(" "))) // 4) + line.lstrip(" ")
        for line in text.splitlines(keepends=True)
    )
    # Kept only when the program is the same, e.g. no string literal spans lines.
    return narrow if ast.dump(ast.parse(narrow)) == ast.dump(ast.parse(text)) else text


def base93(data: bytes) -> str:
    """data as a number in base 93 (DIGITS), most significant digit first."""
    n, out = int.from_bytes(data, "big"), []
    chunk = 93**1000  # a thousand digits per long division: quadratic only in chunks
    while n:
        n, low = divmod(n, chunk)
        digits = []
        for _ in range(1000):
            low, d = divmod(low, 93)
            digits.append(DIGITS[d])
        out.append("".join(reversed(digits)))
    return "".join(reversed(out)).lstrip(DIGITS[0])


def _short_names(taken: set):
    for size in itertools.count(1):
        for letters in itertools.product(string.ascii_letters, repeat=size):
            name = "".join(letters)
            if name not in taken and not keyword.iskeyword(name) and not hasattr(builtins, name):
                yield name


def _rename_locals(tree: ast.Module) -> None:
    """Short names for the variables each function assigns, and for the parameters of nested
    functions and of private ones (`_name`) that no call names by keyword. Never renamed: other
    parameters (callers may name them), global/nonlocal names, and names the module binds (a
    comprehension in a function may use one as a global). A nested function's names follow its
    outer function's."""
    module = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    module = {x for x in module if any(x == getattr(t, "id", None) for t in _top_targets(tree))}
    module |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    module |= {
        (a.asname or a.name).split(".")[0]
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }  # noqa: E501
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | module
    taken |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    taken |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    outer = []

    def find(node, inside):
        for child in ast.iter_child_nodes(node):
            is_fn = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if is_fn and not inside and not isinstance(child, ast.Lambda):
                outer.append(child)
            find(child, inside or is_fn)

    find(tree, False)
    keyworded = {  # functions and methods some call passes keyword arguments to
        getattr(n.func, "id", getattr(n.func, "attr", None))
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and n.keywords
    }

    def kept(f):
        if getattr(f, "name", None) in keyworded:
            return True
        return f is fn and (not f.name.startswith("_") or f.name.startswith("__"))

    for fn in outer:
        nodes = list(ast.walk(fn))
        params = {n.arg for n in nodes if isinstance(n, ast.arg)}
        fixed = module | {
            a.arg
            for f in nodes
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and kept(f)
            for a in ast.walk(f.args)
            if isinstance(a, ast.arg)
        }
        fixed |= {x for n in nodes if isinstance(n, (ast.Global, ast.Nonlocal)) for x in n.names}
        stored = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        stored |= {n.name for n in nodes if isinstance(n, ast.ExceptHandler) and n.name}
        stored |= params
        fresh = _short_names(taken)
        names = {old: next(fresh) for old in sorted(stored - fixed) if len(old) > 1}
        for n in nodes:
            if isinstance(n, ast.Name) and n.id in names:
                n.id = names[n.id]
            elif isinstance(n, ast.ExceptHandler) and n.name in names:
                n.name = names[n.name]
            elif isinstance(n, ast.arg) and n.arg in names:
                n.arg = names[n.arg]


def _rename_self(tree: ast.Module) -> None:
    """A method's `self` named `s` (nobody passes it by keyword), or the first free single
    letter when the method already uses `s`: about 60 bytes less user data."""
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for fn in cls.body:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            first = fn.args.posonlyargs[:1] or fn.args.args[:1]
            if not first or first[0].arg != "self":
                continue
            nodes = list(ast.walk(fn))
            if sum(isinstance(n, ast.arg) and n.arg == "self" for n in nodes) > 1:
                continue  # a nested function with its own self: left alone
            used = {n.id for n in nodes if isinstance(n, ast.Name)}
            used |= {n.arg for n in nodes if isinstance(n, ast.arg)}
            short = next(c for c in "s" + string.ascii_letters if c not in used)
            first[0].arg = short
            for n in nodes:
                if isinstance(n, ast.Name) and n.id == "self":
                    n.id = short


def _top_targets(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in getattr(node, "targets", [getattr(node, "target", None)]):
                yield from (t for t in ast.walk(target) if isinstance(t, ast.Name))


def _dense(source: str) -> str:
    """The same tokens with a space only where two would otherwise run together: two words,
    or a number and a dot."""
    out, prev = [], None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NEWLINE, tokenize.NL):
            if prev is not None:  # no blank lines
                out.append("\n")
            prev = None
        elif tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            first = tok.string[0]
            if prev is None:
                out.append(" " * tok.start[1])
            elif (prev.string[-1].isalnum() or prev.string[-1] == "_") and (
                first.isalnum() or first == "_" or first == "." and prev.type == tokenize.NUMBER
            ):
                out.append(" ")
            out.append(tok.string)
            prev = tok
    return "".join(out)


def minify(source: str) -> str:
    """strip_source, then short local names and no optional spaces: about 750 bytes less user
    data. Checked: the result parses to the renamed program's very syntax tree."""
    tree = ast.parse(strip_source(source))
    for node in ast.walk(tree):  # annotations document the source; nothing reads them at run time
        if isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
    _rename_self(tree)
    _rename_locals(tree)
    renamed = strip_source(ast.unparse(tree))
    dense = _bare_tuples(_dense(renamed))
    if ast.dump(ast.parse(dense)) != ast.dump(ast.parse(renamed)):
        raise ValueError("minify changed the program")
    return dense


def _bare_tuples(source: str) -> str:
    """Without the parentheses ast.unparse puts round a tuple that is a whole assigned or
    returned value (`a,b=(1,2)`): each removal is kept only if the syntax tree stays the same."""
    lines, tree = source.split("\n"), ast.dump(ast.parse(source))
    for n, line in enumerate(lines):
        found = re.match(r"( *(?:return|.*[^=!<>]=))\((.*,.*)\)$", line)
        if found:
            head = found.group(1) + (" " if found.group(1).endswith("return") else "")
            trial = lines[:n] + [head + found.group(2)] + lines[n + 1 :]
            try:
                same = ast.dump(ast.parse("\n".join(trial))) == tree
            except SyntaxError:  # the parentheses were a call's, not a tuple's
                same = False
            if same:
                lines = trial
    return "\n".join(lines)


def compress(modules: dict[str, str]) -> bytes:
    """{file name: source} as the one-liner reads it: name, NUL, source, NUL; raw LZMA2."""
    payload = b"".join(
        name.encode() + b"\0" + text.encode() + b"\0" for name, text in modules.items()
    )
    # LZMA2 is deterministic: output/ stays identical from run to run.
    return lzma.compress(payload, format=lzma.FORMAT_RAW, filters=FILTERS)


def pack(modules: dict[str, str]) -> str:
    """The text user data carries for these modules (tests pack stand-ins the same way)."""
    return base93(compress(modules))


def import_order(sources: dict[str, str]) -> list[str]:
    """Module file names, each after the package's modules it imports (`from .x import`), ties
    by name: LZMA then finds a module's names already in its window (about 30 bytes less)."""
    needs = {
        name: {
            f"{node.module}.py"
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
        & set(sources)
        for name, text in sources.items()
    }
    order: list[str] = []
    while len(order) < len(needs):
        ready = sorted(n for n, deps in needs.items() if n not in order and deps <= set(order))
        if not ready:
            raise ValueError(f"circular imports among {sorted(set(needs) - set(order))}")
        order.append(ready[0])
    return order


def compact_policy(text: str) -> str:
    """The policy document with no optional spaces, one rule a line: the same JSON for fewer
    user data bytes, still readable on the instance."""
    doc = json.loads(text)
    rules = doc.pop("rules", None)
    head = json.dumps(doc, separators=(",", ":"))[:-1]
    if rules is None:
        return head + "}\n"
    lines = ",\n".join(json.dumps(r, separators=(",", ":")) for r in rules)
    return f'{head}{"," if doc else ""}"rules":[\n{lines}\n]}}\n'


def _no_blank_lines(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if line.strip())


def build(source: Path = APPLIANCE_DIR) -> Bundle:
    sources = {m.name: m.read_text() for m in sorted(source.glob("*.py"))}
    if not sources:
        raise FileNotFoundError(f"no appliance modules under {source}")
    packed = compress({name: minify(sources[name]) for name in import_order(sources)})
    return Bundle(
        archive_text=base93(packed),
        unit=_no_blank_lines((source / "install" / "gwlb-appliance.service").read_text()),
        policy=compact_policy((source / "install" / "policy.json").read_text()),
        source_size=sum(len(text.encode()) for text in sources.values()),
        packed_size=len(packed),
    )


def extract(dest: Path, archive_text: str | None = None, python: str | None = None) -> None:
    """Unpack as the instance does: the base93 text written to a file (with the newline its
    YAML block ends in), UNPACK's one-liner run by `python` (the target 3.9 when given), which
    writes dest/appliance/*.py; then readable by all."""
    encoded = dest / "appliance.b93"
    encoded.write_text((archive_text or build().archive_text) + "\n")
    argv = [python or sys.executable, "-c", UNPACK_CODE, str(encoded), str(dest)]
    subprocess.run(argv, check=True, timeout=60)
    encoded.unlink()
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def modules_in(user_data: str) -> dict[str, str]:
    """The modules a rendered appliance user data installs, name -> source, unpacked by the
    one-liner it carries: for tests that read committed output."""
    found = re.search(r"path: " + re.escape(ENCODED_PATH) + r"\n +content: \|\n +(\S+)", user_data)
    if not found:
        raise ValueError("no appliance text in this user data")
    with tempfile.TemporaryDirectory() as tmp:
        extract(Path(tmp), found.group(1))
        return {p.name: p.read_text() for p in sorted(Path(tmp, "appliance").glob("*.py"))}


TARGET_PYTHON = "3.9"  # Amazon Linux 2023's /usr/bin/python3


def find_target_python() -> str | None:
    """A Python 3.9 interpreter already on this machine (pyenv's, then python3.9 on PATH); never
    downloads one. None when there is none."""
    candidates = []
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "prefix", "3.9.18"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(os.path.join(out.stdout.strip(), "bin", "python3.9"))
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(root, "versions", "3.9.*", "bin", "python3.9")))
    candidates.append(shutil.which("python3.9") or "")
    for path in filter(None, candidates):
        if os.access(path, os.X_OK):
            version = subprocess.run(
                [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
            )
            if version.stdout.strip() == TARGET_PYTHON:
                return path
    return None
