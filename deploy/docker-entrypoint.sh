#!/bin/bash
# The keymux image's entrypoint: one image, several roles.
#
#   agent [ARGS...]     keymux-agent; without ARGS: the config /etc/keymux/keymux.yaml,
#                       SPOP on the container's loopback 127.0.0.1:12345 (for a HAProxy
#                       in the same network namespace: a pod, or compose's network_mode;
#                       docker-compose.yml uses a unix socket), admin API on 0.0.0.0:9100.
#                       SPOP on any other address needs spop.secret in the config.
#   haproxy [ARGS...]   HAProxy on haproxy.cfg + providers.cfg (ARGS are appended)
#   check [ARGS...]     keymux-agent --check of the config against both HAProxy files
#   healthcheck         exit 0 when this container's process answers: the agent's
#                       /healthz, or else HAProxy's stats page (the image's HEALTHCHECK)
#   anything else       run as given (e.g. `keymux-agent hash-token`)
set -euo pipefail

HAPROXY_DIR=${KEYMUX_HAPROXY_DIR:-/etc/keymux/haproxy}
CONFIG=${KEYMUX_CONFIG:-/etc/keymux/keymux.yaml}

# http_ok HOST PORT PATH: a GET through bash's /dev/tcp, so that the image
# needs no curl; true when the status line says 200.
http_ok() {
  local version status
  exec 3<>"/dev/tcp/$1/$2" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3
  IFS=' ' read -r -t 3 version status _ <&3 || return 1
  exec 3<&-
  [[ $version == HTTP/* && $status == 200 ]]
}

role=${1:-agent}
(($#)) && shift
case $role in
  agent)
    (($#)) || set -- --config "$CONFIG" --listen 127.0.0.1:12345 --admin-listen 0.0.0.0:9100
    exec /usr/local/bin/keymux-agent "$@"
    ;;
  haproxy)
    # -W: master-worker, so that SIGUSR2 reloads and SIGUSR1 stops gracefully;
    # -db: stay in the foreground, logs on stderr.
    exec haproxy -W -db -f "$HAPROXY_DIR/haproxy.cfg" -f "$HAPROXY_DIR/providers.cfg" "$@"
    ;;
  check)
    exec /usr/local/bin/keymux-agent --check --config "$CONFIG" \
      --haproxy-config "$HAPROXY_DIR/haproxy.cfg" --haproxy-config "$HAPROXY_DIR/providers.cfg" "$@"
    ;;
  healthcheck)
    # Which role this container runs: is there an agent process? (Not PID 1's
    # name, which is tini's under `docker run --init`.)
    if grep -qsx keymux-agent /proc/[0-9]*/comm; then
      admin=${KEYMUX_HEALTH_ADDR:-127.0.0.1:9100}
      http_ok "${admin%:*}" "${admin##*:}" /healthz
    else
      stats=${KEYMUX_STATS_BIND:-127.0.0.1:8404}
      http_ok 127.0.0.1 "${stats##*:}" /stats
    fi
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
