#!/bin/sh
# noheader.cgi: a broken program that prints "Hello world" with no CGI header;
# the gateway must answer 502 and quote the offending first bytes.
echo "Hello world"
