#!/usr/bin/python3
# page.py: the "python-page" workload: a Python CGI page with the imports such
# a page usually has (cgi, html, json, os, re, sys, datetime, urllib.parse,
# collections, hashlib, logging, decimal, email.utils): a small HTML table of
# the request's parameters and a few computed values. Its cost is mostly
# interpreter start-up and these imports, which fork mode does once.
import cgi
import collections
import datetime
import decimal
import email.utils
import hashlib
import html
import json
import logging
import os
import re
import sys
import urllib.parse

log = logging.getLogger("page")
form = cgi.FieldStorage()
name = form.getfirst("name", "world")
words = collections.Counter(re.findall(r"\w+", "the quick brown fox jumps over the lazy dog the end"))
info = {
    "script": os.path.basename(sys.argv[0]),
    "digest": hashlib.md5(name.encode()).hexdigest(),
    "date": email.utils.format_datetime(datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)),
    "total": str(decimal.Decimal("19.99") * 3),
    "query": urllib.parse.urlencode({"name": name}),
    "json": json.dumps({"name": name, "top": words.most_common(2)}, sort_keys=True),
}
rows = "".join("<tr><td>%s</td><td>%s</td></tr>" % (html.escape(k), html.escape(v)) for k, v in sorted(info.items()))
sys.stdout.write("Content-Type: text/html; charset=utf-8\r\n\r\n"
                 "<!DOCTYPE html><html><head><title>Python page</title></head><body>"
                 "<h1>Hello, %s</h1><table border=\"1\">%s</table></body></html>\n" % (html.escape(name), rows))
