#!/bin/sh
# stderr.cgi: writes "to-stderr" lines to stderr and a normal page to stdout;
# the stderr lines travel as FCGI_STDERR and end up in the web server's error log.
echo "to-stderr: first line" >&2
printf 'Content-Type: text/plain\r\n\r\n'
echo "page from stderr.cgi"
echo "to-stderr: second line" >&2
