#!/bin/sh
# Rebuilds mcp-client.bundle.mjs: installs the pinned MCP TypeScript SDK and esbuild from npm in
# a temporary directory and bundles client.mjs with everything it imports into one file that
# node runs with no node_modules (the tests run it on machines without npm). Also writes the
# licenses of every package in the bundle. Needs npm and network access to the npm registry.
#   tests/mcp/update.sh            # the pinned versions
#   tests/mcp/update.sh 1.33.0     # another SDK version (then update README.md)
set -eu
version="${1:-1.32.2}"
esbuild_version="0.28.2"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund --save-exact \
    "@modelcontextprotocol/sdk@$version" "esbuild@$esbuild_version" >/dev/null
cp "$here/client.mjs" ./client.mjs
./node_modules/.bin/esbuild client.mjs --bundle --platform=node --format=esm \
    --target=node20 --minify --legal-comments=none --metafile=meta.json \
    --banner:js="// Bundled by tests/mcp/update.sh from client.mjs and @modelcontextprotocol/sdk $version (MIT); licenses in THIRD_PARTY_LICENSES." \
    --outfile="$here/mcp-client.bundle.mjs" --log-level=warning
# Every package that made it into the bundle, with its license text.
node -e '
const fs = require("fs");
const inputs = Object.keys(JSON.parse(fs.readFileSync("meta.json")).inputs);
const pkgs = new Set();
for (const i of inputs) {
  const m = i.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) pkgs.add(m[1]);
}
let out = "";
for (const name of [...pkgs].sort()) {
  const dir = "node_modules/" + name;
  const pkg = JSON.parse(fs.readFileSync(dir + "/package.json"));
  const file = fs.readdirSync(dir).find((f) => /^licen[sc]e/i.test(f));
  if (!file) throw new Error(name + " has no license file");
  out += "=".repeat(72) + "\n" + name + " " + pkg.version + " (" + pkg.license + ")\n" + "=".repeat(72) + "\n";
  out += fs.readFileSync(dir + "/" + file, "utf8").trim() + "\n\n";
}
fs.writeFileSync(process.argv[1], out);
console.log([...pkgs].sort().map((n) => n + "@" + JSON.parse(fs.readFileSync("node_modules/" + n + "/package.json")).version).join(" "));
' "$here/THIRD_PARTY_LICENSES"
sha256sum "$here/mcp-client.bundle.mjs"
