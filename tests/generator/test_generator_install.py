"""`make templates` installs the generator's runtime group only, and the generator runs with it:
test tools and AWS clients come with the targets that use them."""

import re
import subprocess
import sys

from tests.set_helpers import REPO

TEST_ONLY = {"moto", "scapy", "hypothesis", "pytest", "ruff", "vermin", "cfn-lint", "boto3"}
# Importable names of those packages, refused while the generator runs.
BLOCKED = ("moto", "scapy", "hypothesis", "pytest", "_pytest", "ruff", "vermin", "cfnlint")
BLOCKED += ("boto3", "botocore")


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements" / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            package, _, version = line.partition("==")
            assert version, f"{name}: {line} is not pinned"
            pins[re.sub(r"\[.*\]", "", package)] = version
    return pins


def test_the_templates_group_holds_no_test_or_aws_package():
    assert set(_pins("templates.txt")) == {"troposphere", "jinja2", "pyyaml", "cfn-flip"}
    assert not TEST_ONLY & set(_pins("templates.txt"))


def test_every_package_is_pinned_in_one_place():
    seen: dict[str, str] = {}
    for path in sorted((REPO / "requirements").glob("*.txt")):
        if path.name.startswith("py39"):
            continue  # the Python 3.9 appliance venv is a separate interpreter
        for package in _pins(path.name):
            assert package not in seen, f"{package} pinned in {seen.get(package)} and {path.name}"
            seen[package] = path.name
    assert set(seen) >= TEST_ONLY


def test_make_templates_depends_on_the_templates_group_only():
    makefile = (REPO / "Makefile").read_text()
    (prereqs,) = re.findall(r"^templates:([^#\n]*)", makefile, re.M)
    assert prereqs.split() == ["$(STAMP_TEMPLATES)"]
    assert "STAMP_TEMPLATES := $(VENV)/.installed-templates" in makefile


def test_the_generator_runs_without_test_or_aws_packages(tmp_path):
    guard = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {BLOCKED!r}:\n"
        "            raise ImportError('refused: ' + name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "from templates import main\n"
        f"sys.exit(main(['--output', {str(tmp_path)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", guard], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "aws-cn" / "single-vpc" / "CN-GWLB.yml").is_file()
    assert (tmp_path / "aws-cn" / "single-vpc" / "ARCHITECTURE.md").is_file()
