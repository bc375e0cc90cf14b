"""Module READMEs: complete folders, and Inputs tables that match the props models."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hrsaas.devtools import docs
from hrsaas.toolenv import HRSAAS, ROOT, tool_env

MODULE_DIRS = sorted(p for p in (ROOT / "modules").iterdir()
                     if p.is_dir() and p.name != "__pycache__")


def run_docs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HRSAAS), "docs", *args], cwd=ROOT,
                          env=tool_env(), capture_output=True, text=True, timeout=300)


def test_modules_exist() -> None:
    assert MODULE_DIRS, "no module folders under modules/"


@pytest.mark.parametrize("folder", MODULE_DIRS, ids=lambda p: p.name)
def test_module_folder_is_complete(folder: Path) -> None:
    for name in ("construct.py", "__init__.py", "README.md"):
        assert (folder / name).is_file(), f"modules/{folder.name}/{name} is missing"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.count(docs.START) == 1 and readme.count(docs.END) == 1, (
        f"modules/{folder.name}/README.md needs one {docs.START} and one {docs.END}")
    assert readme.index(docs.START) < readme.index(docs.END)


def test_readmes_match_props_models() -> None:
    result = run_docs("--check")
    assert result.returncode == 0, (
        "module READMEs drifted from their props models; run `hrsaas docs`\n"
        + result.stdout + result.stderr)


def test_check_names_a_drifted_readme_and_regenerating_fixes_it(tmp_path: Path) -> None:
    for folder in MODULE_DIRS:
        (tmp_path / folder.name).mkdir()
        shutil.copy(folder / "README.md", tmp_path / folder.name / "README.md")
    drifted = tmp_path / "vpc" / "README.md"
    original = drifted.read_text(encoding="utf-8")
    row = next(line for line in original.splitlines() if line.startswith("| `cidr` |"))
    drifted.write_text(original.replace(row + "\n", ""), encoding="utf-8")

    result = run_docs("--check", "--readmes", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert str(drifted) in result.stderr
    assert "kms_key" not in result.stderr

    result = run_docs("--readmes", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert drifted.read_text(encoding="utf-8") == original


def test_splice_replaces_only_the_marked_section() -> None:
    readme = f"# m\n\n{docs.START}\nold\n{docs.END}\n\n## After\n"
    assert docs.splice(readme, "new") == f"# m\n\n{docs.START}\nnew\n{docs.END}\n\n## After\n"


@pytest.mark.parametrize("readme", [
    "# no markers\n",
    f"{docs.END}\n{docs.START}\n",
    f"{docs.START}\n{docs.END}\n{docs.START}\n{docs.END}\n",
], ids=["missing", "reversed", "twice"])
def test_splice_rejects_bad_markers(readme: str) -> None:
    with pytest.raises(docs.DocsError):
        docs.splice(readme, "new")


# --- every doc the code, the config and the docs point to exists --------------------------------

_LINKED = re.compile(r"(?<![\w/.-])((?:docs|modules|checkov|cost)/[\w./-]+\.(?:md|toml))")


def _sources() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "main.py", ROOT / "Makefile"]
    for folder, pattern in (("hrsaas", "**/*.py"), ("envs", "**/*.toml"), ("docs", "**/*.md"),
                            ("modules", "*/README.md"), ("checkov", "*.toml"),
                            (".github/workflows", "*.yml")):
        files += sorted((ROOT / folder).glob(pattern))
    return files


def test_every_linked_doc_exists() -> None:
    missing = []
    for source in _sources():
        for target in _LINKED.findall(source.read_text(encoding="utf-8")):
            target = target.rstrip(".")
            if "<" in target or "*" in target:
                continue
            if not (ROOT / target).exists():
                missing.append(f"{source.relative_to(ROOT)} → {target}")
    assert not missing, "links to files that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize("env_name", ["mvp", "prod"])
def test_connection_budget_doc_is_the_validators_report(env_name: str) -> None:
    from hrsaas.config import load_environment
    from hrsaas.config.budget import connection_budget

    doc = (ROOT / "docs" / "connection-budget.md").read_text(encoding="utf-8")
    section = doc.split(f"\n## {env_name}\n", 1)[1].split("```")[1].strip("\n")
    assert section == connection_budget(load_environment(env_name)).report()
