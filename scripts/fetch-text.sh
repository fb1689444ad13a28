#!/usr/bin/env bash
# Fetches The Jargon File 4.4.7 (public domain; Debian package jargon-text 4.4.7-4.1) and splits it for
# calibration and evaluation, cached outside the clone (~/.cache/spqr-explorer, or $SPQR_CACHE):
#   jargon-4.4.7.calibration.txt  the first 3/4 of its lines (for `calibrate`)
#   jargon-4.4.7.heldout.txt      the remaining lines (for `eval`; it never overlaps the calibration part)
# Prints the two paths, calibration first.
set -euo pipefail
cache="${SPQR_CACHE:-$HOME/.cache/spqr-explorer}"
full_sha=40dfb4b98191a670a09a183d5798d50f243d23fdbd1495dcc0aca2ce5895ba97
calib="$cache/jargon-4.4.7.calibration.txt" heldout="$cache/jargon-4.4.7.heldout.txt"
if [ ! -f "$calib" ] || [ ! -f "$heldout" ]; then
    mkdir -p "$cache"
    work="$(mktemp -d "$cache/.fetch.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    if [ -f /usr/share/doc/jargon-text/jargon.txt.gz ]; then
        gunzip -c /usr/share/doc/jargon-text/jargon.txt.gz > "$work/jargon.txt"
    else
        (cd "$work" && apt-get download jargon-text >/dev/null && dpkg -x jargon-text_*.deb jt) \
            || { echo "fetch-text: could not download the Debian package jargon-text" >&2; exit 1; }
        gunzip -c "$work"/jt/usr/share/doc/jargon-text/jargon.txt.gz > "$work/jargon.txt"
    fi
    echo "$full_sha  $work/jargon.txt" | sha256sum -c --quiet - || { echo "fetch-text: jargon.txt has an unexpected SHA-256" >&2; exit 1; }
    lines=$(wc -l < "$work/jargon.txt")
    head -n $((lines * 3 / 4)) "$work/jargon.txt" > "$work/calibration.txt"
    tail -n +$((lines * 3 / 4 + 1)) "$work/jargon.txt" > "$work/heldout.txt"
    mv "$work/calibration.txt" "$calib"
    mv "$work/heldout.txt" "$heldout"
fi
echo "$calib"
echo "$heldout"
