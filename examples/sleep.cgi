#!/bin/sh
# sleep.cgi: sleeps QUERY_STRING seconds (default 30) before printing a page;
# a slow program for timeout, queueing and overload tests.
seconds=${QUERY_STRING:-30}
case "$seconds" in
  ''|*[!0-9.]*) seconds=30 ;;
esac
sleep "$seconds"
printf 'Content-Type: text/plain\r\n\r\n'
echo "slept $seconds"
