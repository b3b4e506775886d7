#!/bin/sh
# probe.sh: a shell-script CGI for the fork-mode tests. In fork mode the shim
# parks /bin/sh, and each request is a fork of it that then reads this script:
# $PPID is the parked shell.
printf 'Content-Type: text/plain\r\n\r\n'
echo "script pid=$$ ppid=$PPID"
echo "query=$QUERY_STRING"
echo "ld_preload=${LD_PRELOAD:-(unset)}"
