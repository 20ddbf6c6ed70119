# shellcheck shell=bash
# Sourced by tests/e2e/sid-root.sh (HAProxy 3.2, Debian sid root) and tests/e2e/trixie-haproxy.sh
# (HAProxy 3.0, the debian13 tier's Debian 13 root): the one wrapper that runs a Debian root's
# haproxy on this host. Defines functions only.

ROOT_HAPROXY_WRAPPER=keymux-haproxy   # the wrapper's name, at the top of the root

# write_root_wrapper ROOT: writes ROOT/keymux-haproxy, which runs ROOT's haproxy with the root's
# own dynamic loader and libraries. Atomic: others may be running the old one.
write_root_wrapper() {
  cat >"$1/$ROOT_HAPROXY_WRAPPER.tmp.$$" <<'WRAP'
#!/bin/sh
# Runs this Debian root's haproxy with the root's own dynamic loader and libraries
# (tests/support/root_haproxy.sh). --argv0: HAProxy's master (-W) re-executes argv[0] on a
# reload; it must be this wrapper, not the bare binary (which would load the host's libraries).
R=$(dirname "$(readlink -f "$0")")
exec "$R/usr/lib64/ld-linux-x86-64.so.2" --argv0 "$0" \
  --library-path "$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu" \
  "$R/usr/sbin/haproxy" "$@"
WRAP
  chmod 755 "$1/$ROOT_HAPROXY_WRAPPER.tmp.$$"
  mv -f "$1/$ROOT_HAPROXY_WRAPPER.tmp.$$" "$1/$ROOT_HAPROXY_WRAPPER"
}

# root_haproxy_ok ROOT VERSION_REGEX: true if ROOT's haproxy runs through the wrapper and its
# version (e.g. "3.0.11-1+deb13u4") matches VERSION_REGEX. Writes the wrapper when missing, or
# when it is one from before --argv0 (master-worker reloads need it).
root_haproxy_ok() {
  local root=$1 want=$2 v
  [[ -x "$root/usr/sbin/haproxy" && -e "$root/usr/lib64/ld-linux-x86-64.so.2" ]] || return 1
  if ! [[ -x "$root/$ROOT_HAPROXY_WRAPPER" ]] || ! grep -q -- '--argv0' "$root/$ROOT_HAPROXY_WRAPPER"; then
    write_root_wrapper "$root"
  fi
  v=$("$root/$ROOT_HAPROXY_WRAPPER" -v 2>/dev/null | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p') ||
    return 1
  [[ "$v" =~ $want ]]
}
