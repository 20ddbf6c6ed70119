#!/usr/bin/env bash
# Installs keymux on a systemd host (Debian 12 or 13): the built agent, the HAProxy
# files, the units, the keymux user. Starts nothing unless --start. Idempotent:
# run it again after a rebuild; it prints what it did and what it left alone.
#
#   deploy/install.sh [--agent PATH] [--config FILE] [--deps] [--start] [--root DIR]
#
#   --agent PATH    the agent to install (default build/keymux-agent)
#   --config FILE   installed as /etc/keymux/keymux.yaml when there is none yet
#                   (default deploy/keymux.yaml, the mock-provider demo)
#   --deps          first install the runtime packages (deploy/install-deps.sh --runtime)
#   --start         check the config, then enable and (re)start keymux-agent and haproxy
#   --root DIR      install under DIR instead of / (no user, no systemctl; for packaging and tests)
#
# Files an operator edits (keymux.yaml, keys.env, providers.cfg) are never
# overwritten: a newer shipped version goes next to them as FILE.dist.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT_DIR=$PWD

AGENT=build/keymux-agent
CONFIG=deploy/keymux.yaml
DEPS=0
START=0
DEST=
while (($#)); do
  case $1 in
    --agent) AGENT=$2; shift 2 ;;
    --config) CONFIG=$2; shift 2 ;;
    --deps) DEPS=1; shift ;;
    --start) START=1; shift ;;
    --root) DEST=${2%/}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "install: $*"; }
die() { echo "install: $*" >&2; exit 1; }

[[ -n $DEST || $(id -u) -eq 0 ]] || die "run as root (or with --root DIR)"
[[ -x $AGENT ]] || die "no agent at $AGENT: build it first (cmake -S . -B build && cmake --build build) or pass --agent"
[[ -r $CONFIG ]] || die "cannot read $CONFIG"
((START)) && [[ -n $DEST ]] && die "--start and --root do not go together"

if ((DEPS)); then
  deploy/install-deps.sh --runtime
fi

# put SRC DEST MODE [keep]: copy when missing or different; with keep, an edited
# file stays and the shipped one goes to DEST.dist.
put() {
  local src=$1 dst=$DEST$2 mode=$3 keep=${4:-}
  if [[ -e $dst ]] && cmp -s "$src" "$dst"; then
    say "unchanged  $2"
  elif [[ -e $dst && $keep == keep ]]; then
    install -m "$mode" "$src" "$dst.dist"
    say "kept       $2 (yours differs; the shipped one is $2.dist)"
  else
    local what=installed
    [[ -e $dst ]] && what=updated
    install -D -m "$mode" "$src" "$dst"
    say "$(printf '%-10s' "$what") $2"
  fi
}

# The user the agent runs as (the unit's User=keymux).
if [[ -z $DEST ]]; then
  if id keymux >/dev/null 2>&1; then
    say "unchanged  user keymux"
  else
    useradd --system --user-group --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin keymux
    say "created    user keymux"
  fi
fi

put "$AGENT" /usr/local/bin/keymux-agent 0755
for f in haproxy/haproxy.cfg haproxy/keymux.spoe.conf haproxy/errors/*; do
  put "$f" "/etc/keymux/$f" 0644
done
put haproxy/providers.cfg /etc/keymux/haproxy/providers.cfg 0644 keep
# The config and the keys may hold secrets: readable by the agent's group only.
put "$CONFIG" /etc/keymux/keymux.yaml 0640 keep
if [[ ! -e $DEST/etc/keymux/keys.env ]]; then
  install -m 0640 /dev/null "$DEST/etc/keymux/keys.env"
  printf '%s\n' "# Keys for keymux.yaml's \${NAME} references, one NAME=value a line:" \
                "# OPENAI_KEY_1=sk-..." \
                "# The gateway secret, only for an agent listening off loopback (spop.secret):" \
                "# KEYMUX_SPOP_SECRET=<openssl rand -hex 32>" >"$DEST/etc/keymux/keys.env"
  say "installed  /etc/keymux/keys.env (empty template)"
else
  say "unchanged  /etc/keymux/keys.env"
fi
if [[ -z $DEST ]]; then
  chgrp keymux /etc/keymux/keymux.yaml /etc/keymux/keys.env
fi
put deploy/systemd/keymux-agent.service /etc/systemd/system/keymux-agent.service 0644
put deploy/systemd/haproxy.service.d/keymux.conf /etc/systemd/system/haproxy.service.d/keymux.conf 0644

if [[ -z $DEST && -d /run/systemd/system ]]; then
  systemctl daemon-reload
  say "systemctl daemon-reload"
fi
command -v haproxy >/dev/null || [[ -n $DEST ]] ||
  say "note: haproxy is not installed (deploy/install.sh --deps, or deploy/install-deps.sh --runtime)"

if ((START)); then
  [[ -d /run/systemd/system ]] || die "--start needs systemd running"
  # Fail before touching the running services when the config does not fit.
  (set -a; [[ -r /etc/keymux/keys.env ]] && . /etc/keymux/keys.env
   /usr/local/bin/keymux-agent --check --config /etc/keymux/keymux.yaml \
     --haproxy-config /etc/keymux/haproxy/haproxy.cfg --haproxy-config /etc/keymux/haproxy/providers.cfg)
  systemctl enable keymux-agent.service haproxy.service
  systemctl restart keymux-agent.service
  systemctl restart haproxy.service
  say "started    keymux-agent.service, haproxy.service"
else
  say "nothing started; to start: systemctl enable --now keymux-agent haproxy (or rerun with --start)"
fi
