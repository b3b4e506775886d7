#!/bin/sh
# A CGI shell script: fork mode parks its interpreter (dash) and runs it per request.
count=$((count + 1))
read -r line
echo "script REQ=$REQ count=$count line=$line"
echo "preload=${LD_PRELOAD:-none}"
exit 4
