#!/bin/sh
# Re-fetches the browser build of oidc-client-ts from npm (the version pinned below) into this
# directory, with its license. Needs npm and network access to the npm registry.
#   tests/spa/update.sh            # the pinned version
#   tests/spa/update.sh 3.6.0      # another one (then update README.md)
set -eu
version="${1:-3.5.0}"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "oidc-client-ts@$version" >/dev/null
tar xzf "oidc-client-ts-$version.tgz"
cp package/dist/browser/oidc-client-ts.min.js "$here/oidc-client-ts.min.js"
cp package/LICENSE "$here/oidc-client-ts.LICENSE"
sha256sum "$here/oidc-client-ts.min.js"
