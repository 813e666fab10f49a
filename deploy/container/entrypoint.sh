#!/bin/sh
# nimbus-entrypoint: the image's entry point (tini runs it as PID 1's child).
#   nimbus-entrypoint serve [options]    a control plane (the default command)
#   nimbus-entrypoint worker [options]   a pool worker
#   nimbus-entrypoint ARGS...            any other nimbus command (keys, pull, ...)
# It refuses to start while a secret still holds the example value shipped in
# deploy/kubernetes (a server would otherwise hash a published admin key into its store),
# then replaces itself with node, so signals reach the server directly.
set -eu

app="${NIMBUS_APP_DIR:-/opt/nimbus}"
for name in NIMBUS_ADMIN_KEY NIMBUS_JOIN_TOKEN NIMBUS_DATABASE_URL NIMBUS_REDIS_URL NIMBUS_MQTT_URL; do
  eval "value=\${$name:-}"
  case "$value" in
    *replace-me*)
      echo "nimbus-entrypoint: $name still holds the example value (it contains 'replace-me'). Put your own in the Secret: see deploy/kubernetes/README.md, 'Secrets'." >&2
      exit 64
      ;;
  esac
done

if [ ! -f "$app/dist/cli/main.js" ]; then
  echo "nimbus-entrypoint: $app/dist/cli/main.js is missing: set NIMBUS_APP_DIR to a built checkout ('npm run build')." >&2
  exit 66
fi

[ $# -gt 0 ] || set -- serve
exec node "$app/dist/cli/main.js" "$@"
