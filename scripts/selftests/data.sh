#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Data records for the host (sourced by functions.sh): what a test measured or collected, one
# JSON line each on the data port (run.sh finds it: ZR_DATA), apart from KTAP, which carries
# only results. The kinds and their fields are the host's table, qemu/zr/records.py, which
# refuses a record it does not know.

# zr_record KIND FIELD=VALUE...: send one record {"test": ZR_TEST, "kind": KIND, FIELD: VALUE,
# ...}. A VALUE that is a decimal number is sent as a JSON number, any other as a string; a
# VALUE of @FILE is FILE's content (e.g. proc_lockdep=@/proc/lockdep). One awk, no matter
# how big the file: it is escaped line by line, never held whole.
zr_record() {
	local arg
	if [ -z "${ZR_DATA:-}" ] || [ ! -w "$ZR_DATA" ]; then
		echo "# no data channel to the host"
		return 1
	fi
	for arg in "$@"; do
		case "$arg" in
		*=@*) [ -r "${arg#*=@}" ] || { echo "# zr_record: cannot read ${arg#*=@}"; return 1; } ;;
		esac
	done
	awk -v test="${ZR_TEST:-}" -v out="$ZR_DATA" '
		function esc(s) {
			gsub(/\\/, "\\\\", s)
			gsub(/"/, "\\\"", s)
			gsub(/\t/, "\\t", s)
			gsub(/\r/, "\\r", s)
			return s
		}
		BEGIN {
			for (i = 2; i < ARGC; i++)
				if (ARGV[i] !~ /^[a-z_][a-z0-9_.]*=/) {
					print "# zr_record: \"" ARGV[i] "\" is not FIELD=VALUE"
					exit 1
				}
			printf "{\"test\":\"%s\",\"kind\":\"%s\"", esc(test), esc(ARGV[1]) >>out
			for (i = 2; i < ARGC; i++) {
				e = index(ARGV[i], "=")
				val = substr(ARGV[i], e + 1)
				printf ",\"%s\":", substr(ARGV[i], 1, e - 1) >>out
				if (val ~ /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/) {
					printf "%s", val >>out
				} else if (substr(val, 1, 1) == "@") {
					printf "\"" >>out
					n = 0
					while ((getline line <substr(val, 2)) > 0)
						printf "%s%s", (n++ ? "\\n" : ""), esc(line) >>out
					close(substr(val, 2))
					printf "\"" >>out
				} else {
					printf "\"%s\"", esc(val) >>out
				}
			}
			print "}" >>out
		}' "$@"
}
