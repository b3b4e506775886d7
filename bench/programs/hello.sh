#!/bin/sh
# hello.sh: the "sh hello" workload: the page of examples/hello.c from a /bin/sh
# script (printf is a dash builtin: the cost measured is starting the shell).
printf 'Content-Type: text/plain\r\n\r\nHello, world!\n'
