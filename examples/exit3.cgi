#!/bin/sh
# exit3.cgi: a valid page, then exit status 3 (FCGI_END_REQUEST appStatus 3).
printf 'Content-Type: text/plain\r\n\r\n'
echo "page from exit3.cgi"
exit 3
