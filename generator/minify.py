"""Minifies the appliance's modules for user data: no docstrings, comments or annotations,
short local names, one-letter `self` and private parameters, only the spaces Python needs;
checked to parse to the renamed program's very syntax tree."""

from __future__ import annotations

import ast
import builtins
import io
import itertools
import keyword
import re
import string
import tokenize


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
