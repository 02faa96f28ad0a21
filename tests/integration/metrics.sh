#!/usr/bin/env bash
# ttwsd's metrics exposition against the reference parsers:
# - the Prometheus dialect (node_exporter's textfile, also written through
#   metrics_write_textfile()) with `promtool check metrics`, which parses
#   with prometheus/common's expfmt.TextParser, then lints. Any output
#   from promtool fails the test, lint findings included ("no help text",
#   "counter metrics should have _total suffix", non-base units ...):
#   every name is ours, so there is nothing to tolerate.
# - the OpenMetrics dialect (GetMetrics) with prometheus_client's strict
#   OpenMetrics parser (Debian python3-prometheus-client), which checks
#   # EOF, _total, UNIT suffixes, bucket order, +Inf and escaping.
# As controls, each validator must reject the other dialect: the two
# texts really differ, and the validators really check.
#
# Usage: metrics.sh METRICS_GEN
set -euo pipefail
GEN=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

promtool=$(command -v promtool || true)
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
		py=$p
		break
	fi
done
if [[ -z $promtool || -z $py ]]; then
	echo "metrics: needs promtool (package prometheus) and" \
		"python3-prometheus-client; ./dev setup installs them" >&2
	exit 77
fi

fail() {
	echo "metrics: $*" >&2
	exit 1
}

# promtool must say nothing and exit 0.
promcheck() {
	local out rc=0
	out=$("$promtool" check metrics <"$1" 2>&1) || rc=$?
	if ((rc != 0)) || [[ -n $out ]]; then
		echo "$out" >&2
		return 1
	fi
}

# The strict OpenMetrics parser; prints "families N".
omcheck() {
	"$py" - "$1" <<'EOF'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
need = {
    "ttws_link_frames_sent": "counter",
    "ttws_link_state": "stateset",
    "ttws_build": "info",
    "ttws_servo_residual_seconds": "histogram",
    "ttws_link_rx_latency_seconds": "histogram",
    "ttws_pipewire_handoff_seconds": "histogram",
    "ttws_dongle_opens": "counter",
    "ttws_pipewire_sink_registered": "gauge",
    "ttws_pipewire_sink_disconnects": "counter",
    "ttws_pipewire_sink_reconnects": "counter",
}
for name, typ in need.items():
    if name not in fams or fams[name].type != typ:
        sys.exit("missing or mistyped: %s %s" % (name, typ))
if fams["ttws_servo_residual_seconds"].unit != "seconds":
    sys.exit("no unit on ttws_servo_residual_seconds")
paths = {s.labels["path"] for s in fams["ttws_dongle_opens"].samples}
if '/dev/serial/by-id/usb-"odd"\\name' not in paths:
    sys.exit("escaped path did not read back: %r" % paths)
print("families", len(fams))
EOF
}

"$GEN" prometheus >"$tmp/prom.txt"
"$GEN" openmetrics >"$tmp/om.txt"
[[ -s $tmp/prom.txt && -s $tmp/om.txt ]] || fail "empty exposition"

promcheck "$tmp/prom.txt" || fail "promtool found problems in the Prometheus dialect"
n=$(omcheck "$tmp/om.txt") || fail "the OpenMetrics parser refused GetMetrics' dialect"
echo "openmetrics: $n"
[[ $n =~ ^families\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] > 50)) ||
	fail "too few families: $n"

# Controls.
if promcheck "$tmp/om.txt" 2>/dev/null; then
	fail "promtool accepted the OpenMetrics dialect: is it checking?"
fi
if omcheck "$tmp/prom.txt" >/dev/null 2>&1; then
	fail "the OpenMetrics parser accepted the Prometheus dialect"
fi

# An ASHA pair: its families (ttws_asha_*) instead of the ear ones, in
# both dialects.
"$GEN" prometheus asha >"$tmp/asha-prom.txt"
"$GEN" openmetrics asha >"$tmp/asha-om.txt"
promcheck "$tmp/asha-prom.txt" || fail "promtool found problems in the ASHA families"
# (omcheck wants the ear families, which an aid has not: parse only.)
"$py" -c 'import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as p
fams = list(p(open(sys.argv[1]).read()))
assert any(f.name == "ttws_asha_aid_state" for f in fams)' "$tmp/asha-om.txt" ||
	fail "the OpenMetrics parser refused the ASHA families"
grep -q '^ttws_asha_slots_total 30000$' "$tmp/asha-prom.txt" || fail "no ttws_asha_slots_total"
grep -q '^ttws_asha_aid_state{ear="left",ttws_asha_aid_state="streaming"} 1$' "$tmp/asha-prom.txt" ||
	fail "no streaming aid state"
grep -q '^ttws_asha_send_skew_p99_seconds 0.0015$' "$tmp/asha-prom.txt" || fail "no send skew"
if grep -q '^ttws_link_state' "$tmp/asha-prom.txt"; then
	fail "an ASHA aid has ttws-link ear series"
fi
echo "metrics: ASHA pair ok ($(grep -c '^ttws_asha' "$tmp/asha-prom.txt") series)"

# The textfile: same text as the Prometheus dialect, complete, 0644.
(umask 077 && "$GEN" textfile "$tmp/ttws.prom")
cmp -s "$tmp/ttws.prom" "$tmp/prom.txt" || fail "textfile differs from stdout"
[[ $(stat -c %a "$tmp/ttws.prom") == 644 ]] || fail "textfile mode is not 0644"
[[ ! -e $tmp/ttws.prom.tmp ]] || fail "textfile left its .tmp"
promcheck "$tmp/ttws.prom" || fail "promtool found problems in the textfile"
echo "metrics: ok ($(grep -vc '^#' "$tmp/prom.txt") samples)"
