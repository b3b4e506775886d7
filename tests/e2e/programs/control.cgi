#!/bin/sh
# control.cgi RECORD_FILE: the process-control tests' program. Appends the line
# "PID QUERY_STRING" to RECORD_FILE (argv[1], given to fcgi-run after PROGRAM)
# so a test can find and watch the process, then behaves as QUERY_STRING says
# (matched by prefix, so "hang-a" and "hang-b" are both "hang"):
#   hang          no output, sleeps 600 s (exec: the pid stays the same)
#   ignore-term   like hang, but SIGTERM is ignored (trap '' TERM survives exec)
#   stream        a header, then a line every 100 ms for 60 s
#   sleep1        sleeps 1 s, then a page "slept"
#   read-stdin    reads its whole body (cat), then a page "read N"
#   ulimit        a page "nofile N" (`ulimit -n`)
#   sigpipe       a page with the SigIgn/SigBlk lines of /proc/self/status
#   background    starts `sleep 30` in the background holding stdout (its pid
#                 is recorded as "PID background-child"), then a page
#   (other)       a page "hello from control.cgi"
record=${1:-/dev/null}
echo "$$ $QUERY_STRING" >> "$record"
page() {
  printf 'Content-Type: text/plain\r\n\r\n'
  echo "$@"
}
case "$QUERY_STRING" in
  hang*)
    exec sleep 600 ;;
  ignore-term*)
    trap '' TERM
    exec sleep 600 ;;
  stream*)
    printf 'Content-Type: text/plain\r\nX-Accel-Buffering: no\r\n\r\n'
    i=0
    while [ $i -lt 600 ]; do
      echo "line $i"
      i=$((i + 1))
      sleep 0.1
    done ;;
  sleep1*)
    sleep 1
    page "slept" ;;
  read-stdin*)
    n=$(cat | wc -c)
    page "read $n" ;;
  ulimit*)
    page "nofile $(ulimit -n)" ;;
  sigpipe*)
    printf 'Content-Type: text/plain\r\n\r\n'
    grep -E '^(SigIgn|SigBlk):' /proc/self/status ;;
  background*)
    sleep 30 &
    echo "$! background-child" >> "$record"
    page "left a child" ;;
  *)
    page "hello from control.cgi" ;;
esac
