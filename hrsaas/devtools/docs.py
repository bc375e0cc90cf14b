"""Module READMEs: the Inputs table of each one is generated from its props model.

    hrsaas docs              rewrite the Inputs section of every modules/<name>/README.md
    hrsaas docs --check      exit 1, naming the stale READMEs, if regenerating would
                                        change any of them (tests/test_docs.py runs this)
    hrsaas docs vpc kms_key  only these modules

The section is everything between ``<!-- inputs:start -->`` and ``<!-- inputs:end -->``; the rest
of a README is written by hand. One row per field of ``<Name>Props`` (and of every other pydantic
model defined in the same construct.py, e.g. ``ServiceGrant``): name, type as written in the
source, default or "required", and the description — ``Field(description=...)``, else the string
literal right after the attribute (read with ``ast``, as pydantic does not keep it), plus the
field's constraints (pattern, bounds).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hrsaas.toolenv import NODE_BIN, ROOT

MODULES_DIR = ROOT / "modules"
START = "<!-- inputs:start -->"
END = "<!-- inputs:end -->"
HEADER = ("| Name | Type | Default | Description |", "|------|------|---------|-------------|")
CONSTRAINTS = (  # pydantic/annotated-types metadata attribute → how it reads in the table
    ("gt", "> {}"), ("ge", ">= {}"), ("lt", "< {}"), ("le", "<= {}"),
    ("multiple_of", "multiple of {}"), ("min_length", "min length {}"),
    ("max_length", "max length {}"), ("pattern", "matches {}"),
)


class DocsError(Exception):
    """A README or construct the generator cannot handle (missing file, markers, props)."""


@dataclass(frozen=True)
class SourceField:
    annotation: str
    docstring: str


# -- reading the source ----------------------------------------------------------------------
def source_fields(cls: type) -> dict[str, SourceField]:
    """Annotation text and attribute docstring of every annotated attribute in ``cls``'s body
    and its bases' (a subclass's declaration wins)."""
    fields: dict[str, SourceField] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or klass.__module__.startswith("pydantic"):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        node = ast.parse(source).body[0]
        if not isinstance(node, ast.ClassDef):
            continue
        body = node.body
        for index, stmt in enumerate(body):
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            doc = ""
            following = body[index + 1] if index + 1 < len(body) else None
            if (isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                doc = inspect.cleandoc(following.value.value)
            fields[stmt.target.id] = SourceField(ast.unparse(stmt.annotation), doc)
    return fields


# -- rendering -------------------------------------------------------------------------------
def _one_line(text: str) -> str:
    text = re.sub(r"``(.+?)``", r"`\1`", text)  # reST literals → Markdown code spans
    return " ".join(text.split())


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return _code(f"{getattr(field.default_factory, '__name__', 'factory')}()")
    return _code(repr(field.default))


def _constraints(field: Any) -> list[str]:
    found = []
    for meta in field.metadata:
        for attr, template in CONSTRAINTS:
            value = getattr(meta, attr, None)
            if value is not None:
                found.append(_code(template.format(value)))
    return found


def model_table(model: type) -> list[str]:
    source = source_fields(model)
    rows = list(HEADER)
    for name, field in model.model_fields.items():
        declared = source.get(name)
        kind = declared.annotation if declared else _type_name(field.annotation)
        description = _one_line(field.description or (declared.docstring if declared else ""))
        constraints = _constraints(field)
        if constraints:
            suffix = "Constraints: " + ", ".join(constraints) + "."
            if description and not description.endswith((".", "!", "?")):
                description += "."
            description = f"{description} {suffix}" if description else suffix
        cells = (_code(name), _code(_one_line(kind)), _default(field), description)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


def _models_of(module: Any) -> tuple[type, list[type]]:
    """The props model of a construct module and the other pydantic models it defines."""
    from pydantic import BaseModel

    models = [obj for obj in vars(module).values()
              if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel
              and obj.__module__ == module.__name__]
    props = [m for m in models if m.__name__.endswith("Props")]
    if len(props) != 1:
        raise DocsError(f"{module.__name__}: expected one *Props model, found "
                        f"{[m.__name__ for m in props] or 'none'}")
    return props[0], sorted((m for m in models if m is not props[0]),
                            key=lambda m: inspect.getsourcelines(m)[1])


def inputs_markdown(name: str) -> str:
    """The generated Inputs section of module ``name`` (without the markers)."""
    # jsii starts with the first cdktf import: use the project's Node 22 as make does.
    if (NODE_BIN / "node").exists():
        os.environ.setdefault("JSII_NODE", str(NODE_BIN / "node"))
    module = importlib.import_module(f"modules.{name}.construct")
    props, others = _models_of(module)
    lines = [
        f"<!-- Generated by `hrsaas docs` from `{props.__name__}` in construct.py: "
        "edit the model, then rerun. -->",
        "",
        f"`{props.__name__}`:",
        "",
        *model_table(props),
    ]
    for model in others:
        doc = _one_line(inspect.cleandoc(model.__doc__ or ""))
        lines += ["", f"`{model.__name__}`" + (f": {doc}" if doc else ":"), "",
                  *model_table(model)]
    return "\n".join(lines)


def splice(readme: str, generated: str) -> str:
    """``readme`` with the text between the markers replaced by ``generated``."""
    if readme.count(START) != 1 or readme.count(END) != 1:
        raise DocsError(f"needs exactly one {START} and one {END}")
    head, rest = readme.split(START)
    if END not in rest:
        raise DocsError(f"{END} comes before {START}")
    _, tail = rest.split(END)
    return f"{head}{START}\n{generated}\n{END}{tail}"


# -- command line ----------------------------------------------------------------------------
def module_names() -> list[str]:
    return sorted(p.name for p in MODULES_DIR.iterdir()
                  if p.is_dir() and p.name != "__pycache__" and not p.name.startswith("."))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas docs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="module folder names (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any README is stale")
    parser.add_argument("--readmes", type=Path, default=MODULES_DIR, metavar="DIR",
                        help="folder holding <module>/README.md (default: modules/)")
    args = parser.parse_args(argv)

    known = module_names()
    unknown = sorted(set(args.modules) - set(known))
    if unknown:
        parser.error(f"unknown modules {unknown}; known: {known}")
    stale: list[str] = []
    errors: list[str] = []
    for name in args.modules or known:
        readme = args.readmes / name / "README.md"
        shown = _display(readme)
        try:
            if not (MODULES_DIR / name / "construct.py").is_file():
                raise DocsError(f"modules/{name}/construct.py is missing")
            if not readme.is_file():
                raise DocsError("README.md is missing")
            old = readme.read_text(encoding="utf-8")
            new = splice(old, inputs_markdown(name))
        except DocsError as exc:
            errors.append(f"{shown}: {exc}")
            continue
        if new == old:
            continue
        stale.append(shown)
        if not args.check:
            readme.write_text(new, encoding="utf-8")
            print(f"updated {shown}")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if args.check and stale:
        print("stale module READMEs (run `hrsaas docs`):", file=sys.stderr)
        for shown in stale:
            print(f"  {shown}", file=sys.stderr)
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
