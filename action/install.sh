#!/usr/bin/env bash
# Installs `slsa-action` into "$INSTALL_ROOT/bin" for action.yml.
#
# - Built from source earlier and restored from the cache for this action ref: nothing to do —
#   except with FRESH=true (attest, verify), which always build anew.
# - VERSION set: download that release's binary and verify its sha256 against the digest pinned
#   in action/checksums.txt at the action's ref; any mismatch or missing entry is an error. Then
#   its SLSA provenance (the release's keyless cargo-slsa.sigstore.json) is checked by an
#   independent verifier, GitHub's `gh attestation verify`, against this repository's release
#   workflow; a failure is an error. Without gh on the runner that check is skipped with a
#   warning (the pinned sha256 still decides). VERIFY_PROVENANCE=false skips it.
# - Otherwise: build it from this action's own source at its ref with `cargo install --locked`,
#   using the toolchain pinned in the action's rust-toolchain.toml.
set -euo pipefail

bin="$INSTALL_ROOT/bin/slsa-action"
if [ -z "${VERSION:-}" ] && [ "${FRESH:-false}" != "true" ] && [ -x "$bin" ]; then
  echo "slsa-action (built from this action's source) restored from the cache: $bin"
  exit 0
fi
mkdir -p "$INSTALL_ROOT/bin"

if [ -n "${VERSION:-}" ]; then
  case "$TARGET_OS/$TARGET_ARCH" in
    Linux/X64) target=x86_64-unknown-linux-gnu ;;
    Linux/ARM64) target=aarch64-unknown-linux-gnu ;;
    macOS/ARM64) target=aarch64-apple-darwin ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    *)
      echo "::error title=cargo slsa::no released binary for $TARGET_OS/$TARGET_ARCH; leave 'version' empty to build from source"
      exit 1
      ;;
  esac
  asset="slsa-action-$target.tar.gz"
  want=$(awk -v v="$VERSION" -v a="$asset" '$1 == v && $2 == a { print $3 }' "$ACTION_PATH/action/checksums.txt")
  if [ -z "$want" ]; then
    echo "::error title=cargo slsa::no pinned sha256 for $asset of version $VERSION in action/checksums.txt; use an action ref that lists it, or leave 'version' empty"
    exit 1
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  url="https://github.com/${ACTION_REPOSITORY}/releases/download/v${VERSION}/${asset}"
  curl --proto '=https' --tlsv1.2 --fail --silent --show-error --location --retry 3 --output "$tmp/$asset" "$url"
  got=$(sha256sum "$tmp/$asset" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "::error title=cargo slsa::sha256 of $asset is $got, but action/checksums.txt pins $want"
    exit 1
  fi
  tar -xzf "$tmp/$asset" -C "$tmp"
  provenance="sha256 verified"
  if [ "${VERIFY_PROVENANCE:-true}" != "false" ]; then
    if command -v gh >/dev/null 2>&1; then
      bundle_url="https://github.com/${ACTION_REPOSITORY}/releases/download/v${VERSION}/cargo-slsa.sigstore.json"
      curl --proto '=https' --tlsv1.2 --fail --silent --show-error --location --retry 3 --output "$tmp/cargo-slsa.sigstore.json" "$bundle_url"
      if ! gh attestation verify "$tmp/slsa-action" \
        --bundle "$tmp/cargo-slsa.sigstore.json" \
        --repo "$ACTION_REPOSITORY" \
        --signer-workflow "$ACTION_REPOSITORY/.github/workflows/slsa-build.yml" >/dev/null; then
        echo "::error title=cargo slsa::the SLSA provenance of slsa-action $VERSION does not verify (gh attestation verify)"
        exit 1
      fi
      provenance="sha256 and SLSA provenance verified"
    else
      echo "::warning title=cargo slsa::gh is not installed, so the SLSA provenance of slsa-action $VERSION was not checked (its pinned sha256 was)"
    fi
  fi
  install -m 0755 "$tmp/slsa-action" "$bin"
  echo "installed slsa-action $VERSION ($target), $provenance"
else
  # Build from the action's source; run in the action's directory so rustup picks its pinned
  # toolchain, and --locked so its Cargo.lock decides every dependency.
  cd "$ACTION_PATH"
  cargo install --locked --force --path action --root "$INSTALL_ROOT"
fi
