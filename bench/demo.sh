#!/usr/bin/env bash
# make demo: run pipfence on a real Pipfile in a throw-away project folder.
set -euo pipefail
pipfence=${1:-pipfence}
demo=$(mktemp -d "${TMPDIR:-/tmp}/pipfence-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT
cat > "$demo/Pipfile" <<'PIPFILE'
# A small web client project.
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
requests = {version = "*", extras = ["socks"]}
rich = ">=13"

[dev-packages]
pytest = "*"

[requires]
python_version = "3.11"
PIPFILE
cd "$demo"
echo "\$ pipfence --version"; "$pipfence" --version
echo "\$ pipfence lock"; "$pipfence" lock
echo "\$ pipfence verify"; "$pipfence" verify
echo "\$ head -40 Pipfile.lock"; head -40 Pipfile.lock
