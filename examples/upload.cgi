#!/usr/bin/perl
# upload.cgi: a CGI.pm multipart/form-data upload: reports the uploaded file's
# name and size in bytes (field "file").
use strict;
use warnings;
use CGI;

my $q = CGI->new;
print $q->header(-type => 'text/plain');
my $fh = $q->upload('file');
if (!defined $fh) {
  print "no file\n";
  exit 0;
}
binmode $fh;
my ($size, $buffer) = (0, '');
while (my $n = read($fh, $buffer, 65536)) { $size += $n; }
printf "filename=%s\nsize=%d\n", scalar($q->param('file')), $size;
