#!/bin/sh
# env.cgi: dumps what a CGI program receives: the environment (sorted), the
# working directory (CWD=) and the file descriptors open in the program (FDS=,
# e.g. "FDS=0 1 2"; a leaked FastCGI socket shows up as 3).
printf 'Content-Type: text/plain\r\n\r\n'
env | sort
echo "CWD=$(pwd)"
# ls inherits the script's fds; the only extra one is the directory ls itself
# opens to list /proc/self/fd, whose link target is /proc/<ls pid>/fd: skip it.
fds=$(ls -l /proc/self/fd | awk '$NF !~ /^\/proc\/[0-9]+\/fd$/ && $(NF-1) == "->" { print $(NF-2) }' | sort -n | tr '\n' ' ')
echo "FDS=${fds% }"
