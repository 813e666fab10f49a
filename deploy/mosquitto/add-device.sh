#!/bin/sh
# Adds a device's login and ACL block to a Mosquitto set up with ./mosquitto.conf (reloads it with MOSQUITTO_PID).
# Usage: add-device.sh DIR TENANT DEVICE SECRET [ROOT]
#   DIR holds `passwords` and `acl` (/etc/mosquitto/nimbus); SECRET is the device's MQTT secret
#   (from `PUT /v1/devices/DEVICE`); ROOT is the topic root (default nimbus).
# The first time, add Nimbus's own login: mosquitto_passwd -c -b DIR/passwords nimbus SECRET
set -eu
if [ $# -lt 4 ]; then
  echo "usage: $0 DIR TENANT DEVICE SECRET [ROOT]" >&2
  exit 2
fi
dir=$1 tenant=$2 device=$3 secret=$4 root=${5:-nimbus}
case "$tenant$device" in
  *[!A-Za-z0-9_.-]*) echo "tenant and device ids are letters, digits, '.', '_' and '-'" >&2; exit 2 ;;
esac
mosquitto_passwd -b "$dir/passwords" "$tenant/$device" "$secret"
prefix="$root/$tenant/devices/$device"
cat >> "$dir/acl" <<ACL

user $tenant/$device
topic write $prefix/\$state
topic write $prefix/reported
topic write $prefix/events/+
topic write $prefix/replies
topic read $prefix/set
topic read $prefix/actions/+
topic read $prefix/reported
topic read $root/$tenant/\$estop
ACL
# A running Mosquitto reads both files again on SIGHUP.
if [ -n "${MOSQUITTO_PID:-}" ]; then
  kill -HUP "$MOSQUITTO_PID"
else
  echo "added $tenant/$device; reload Mosquitto to apply (systemctl reload mosquitto, or MOSQUITTO_PID=PID $0 ...)"
fi
