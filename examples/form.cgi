#!/usr/bin/perl
# form.cgi: a CGI.pm program: GET shows a form; POST echoes the submitted fields.
use strict;
use warnings;
use CGI qw(-utf8);

my $q = CGI->new;
print $q->header(-type => 'text/html', -charset => 'utf-8');
print "<!DOCTYPE html>\n<html><head><title>form.cgi</title></head><body>\n";
if ($q->request_method eq 'POST') {
  print "<h1>Fields</h1>\n<ul>\n";
  for my $name (sort $q->param) {
    for my $value ($q->multi_param($name)) {
      printf "<li>%s=%s</li>\n", $q->escapeHTML($name), $q->escapeHTML($value);
    }
  }
  print "</ul>\n";
} else {
  print "<form method=\"post\">\n",
        "<input name=\"name\"> <input name=\"color\"> <input type=\"submit\">\n",
        "</form>\n";
}
print "</body></html>\n";
