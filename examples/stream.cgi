#!/bin/sh
# stream.cgi: writes 5 lines, one every 200 ms, unbuffered, to show that output
# is streamed to the client as it is produced rather than at the end.
printf 'Content-Type: text/plain\r\nX-Accel-Buffering: no\r\n\r\n'
for i in 1 2 3 4 5; do
  echo "line $i"
  [ "$i" -lt 5 ] && sleep 0.2
done
exit 0
