#!/usr/bin/python3
# hello.py: a Python CGI program: a page showing a few CGI meta-variables.
import os
import sys

lines = ["Hello from Python"]
for name in ("GATEWAY_INTERFACE", "REQUEST_METHOD", "QUERY_STRING", "SCRIPT_NAME"):
    lines.append("%s=%s" % (name, os.environ.get(name, "")))
sys.stdout.write("Content-Type: text/plain\r\n\r\n" + "\n".join(lines) + "\n")
