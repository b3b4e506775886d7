#!/bin/sh
# nph-hello.cgi: a non-parsed-header program: its first line is an HTTP status
# line, which a FastCGI gateway must turn into a Status: header.
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nHello from NPH\n'
