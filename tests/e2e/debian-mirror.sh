#!/usr/bin/env bash
# Prints the Debian archive this machine's apt uses (deb822 "URIs:" or a one-line
# "deb URI suite" entry), or nothing: the mirror for debootstrap of the test roots
# (tests/e2e/sid-root.sh, tests/debian13/run.sh).
cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  awk '$1 == "URIs:" && $2 ~ /\/debian\/?$/ { print $2; exit }
       $1 == "deb" && $2 !~ /^\[/ && $2 ~ /\/debian\/?$/ { print $2; exit }' || true
