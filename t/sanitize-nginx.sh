#!/bin/sh
#
# Copyright (C) Keryu Security
#
# Runs nginx for "make test-asan".  nginx itself is not instrumented, so
# the module built with -fsanitize=address,undefined needs the sanitizer
# runtimes preloaded, listed in KERYU_SAN_PRELOAD.  Leak checking is off:
# nginx leaves its pools and cycle to the exit of each process, and a
# leak report would stand for those, not for the module.  The rest of
# ASAN_OPTIONS and UBSAN_OPTIONS comes from the caller (where reports go,
# halting on the first one).

set -eu

: "${KERYU_SAN_PRELOAD:?the sanitizer runtimes to preload}"

LD_PRELOAD="$KERYU_SAN_PRELOAD${LD_PRELOAD:+ $LD_PRELOAD}"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export LD_PRELOAD ASAN_OPTIONS

exec "${KERYU_SAN_NGINX:-/usr/sbin/nginx}" "$@"
