#!/bin/sh
# index.cgi: the first page of `make run` (the HTTP front runs a directory's
# index.cgi for its URL): a link to each example, with what it shows.
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
cat <<'HTML'
<!DOCTYPE html>
<html><head><title>fcgi-run examples</title></head><body>
<h1>fcgi-run examples</h1>
<p>Each link runs an unmodified CGI program through fcgi-run: one fcgi-run in dispatcher mode
(<code>--root</code>) serves this folder, each program in fork mode (fcgi-run's default: started
once, parked at <code>main()</code>, forked per request). The terminal running <code>make run</code>
shows fcgi-run's log.</p>
<ul>
<li><a href="hello.cgi">hello.cgi</a>: a C program's "Hello, world!" page.</li>
<li><a href="env.cgi/extra/path?a=1&amp;b=2">env.cgi</a>: the environment a program gets (CGI variables
such as <code>PATH_INFO</code> and <code>QUERY_STRING</code>, the request's headers as <code>HTTP_*</code>),
its working directory and its open descriptors.</li>
<li><a href="stream.cgi">stream.cgi</a>: five lines, one every 200 ms: output reaches the browser as the
program writes it.</li>
<li><a href="form.cgi">form.cgi</a>: a Perl CGI.pm form; submitting it echoes the fields.</li>
<li><a href="hello.py">hello.py</a>: a Python 3 script and a few CGI variables.</li>
<li><a href="large.cgi?size=10485760">large.cgi</a>: 10 MiB of output (<code>?size=N</code> bytes).</li>
<li><a href="nph-hello.cgi">nph-hello.cgi</a>: a non-parsed-header program, which writes its own status line.</li>
<li><a href="exit3.cgi">exit3.cgi</a>: a valid page from a program that exits with status 3 (fcgi-run
reports it to the web server).</li>
<li><a href="stderr.cgi">stderr.cgi</a>: a page, and lines on stderr (in fcgi-run's log).</li>
<li><a href="sleep.cgi?2">sleep.cgi</a>: a page after 2 seconds (<code>?SECONDS</code>): timeouts and queueing.</li>
<li><a href="crash.cgi">crash.cgi</a>: a program killed by SIGSEGV before any output: fcgi-run's 502 says so.</li>
<li><a href="noheader.cgi">noheader.cgi</a>: output without a CGI header: fcgi-run's 502 quotes it.</li>
</ul>
<form method="post" action="echo.cgi">
<p><a href="echo.cgi">echo.cgi</a> (C) reads the request body and prints its length and SHA-256:
<input name="text" value="hello"> <input type="submit" value="POST it"></p>
</form>
<form method="post" action="upload.cgi" enctype="multipart/form-data">
<p><a href="upload.cgi">upload.cgi</a> (Perl CGI.pm) takes a file upload and prints its name and size:
<input type="file" name="file"> <input type="submit" value="Upload"></p>
</form>
</body></html>
HTML
