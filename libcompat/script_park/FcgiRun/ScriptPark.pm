# FcgiRun::ScriptPark: parks a Perl CGI script after its compilation, for
# fcgi-run's fork mode. fcgi-run starts the script as
#
#   perl [#! flags] -IDIR -MFcgiRun::ScriptPark=LIBRARY,DIR SCRIPT [ARGS]
#
# with libfcgi-run-compat.so (LIBRARY) preloaded; DIR is where this file is.
# Loaded before the script is compiled, it binds the library's park point
# with DynaLoader (no XS, no perl headers) and calls it from an INIT block:
# after every `use` and BEGIN of the script, before its first run-time
# statement. The call returns in a forked child per request, with the
# request's stdin, stdout, stderr, cwd and environ in place; there this module
# rebuilds %ENV from the request's environment (tainted under -T, as perl
# does at start-up), sets $^T to the request's start, reseeds rand() unless
# the script called srand itself while compiling, and the script's run-time
# part runs as in a fresh process. It leaves @INC and %INC as a direct run
# has them. See libcompat/script_park.h and docs/guide/scripts.md.
package FcgiRun::ScriptPark;

my ($request, $taint, $srand_called) = (0, '', 0);

sub import {
    my (undef, $library, $dir) = @_;
    # What the script sees of this module: nothing in @INC or %INC.
    if (defined $dir) {
        for my $i (0 .. $#INC) {
            next unless defined $INC[$i] && !ref $INC[$i] && $INC[$i] eq $dir;
            splice(@INC, $i, 1);
            last;
        }
    }
    delete $INC{'FcgiRun/ScriptPark.pm'};
    # DynaLoader's functions without loading DynaLoader.pm (a later
    # `require DynaLoader` then finds them and does not define them again).
    DynaLoader::boot_DynaLoader('DynaLoader') unless defined &DynaLoader::dl_load_file;
    my $handle = DynaLoader::dl_load_file($library, 0)
        or die "FcgiRun::ScriptPark: cannot load $library: " . DynaLoader::dl_error() . "\n";
    my $park = DynaLoader::dl_find_symbol($handle, 'fcgi_run_park_script')
        or die "FcgiRun::ScriptPark: $library has no fcgi_run_park_script\n";
    $request = DynaLoader::dl_find_symbol($handle, 'fcgi_run_script_request')
        or die "FcgiRun::ScriptPark: $library has no fcgi_run_script_request\n";
    DynaLoader::dl_install_xsub('FcgiRun::ScriptPark::park', $park);
    # File input is tainted under -T: an empty string read from a file taints
    # what it is appended to, as %ENV's values are at start-up.
    if (${^TAINT}) {
        open(my $zero, '<', '/dev/zero') or die "FcgiRun::ScriptPark: /dev/zero: $!\n";
        sysread($zero, my $byte, 1);
        close($zero);
        $taint = substr($byte, 0, 0);
    }
    # srand() called while compiling (by the script or a module) is a choice
    # the children keep; otherwise each child reseeds (a fresh process would).
    *CORE::GLOBAL::srand = sub (;$) { $srand_called = 1; @_ ? CORE::srand($_[0]) : CORE::srand() };
}

INIT {
    # $! as compilation left it: what the script's first statement would see
    # (die's exit status is $! when it is not 0).
    my $errno = $! + 0;
    park();    # returns in each request's child
    my $word = length(pack('J', 0));
    my ($block, $bytes) = unpack('J J', unpack('P' . (2 * $word), pack('J', $request)));
    my @pairs;
    if ($bytes) {
        for my $entry (split /\0/, unpack("P$bytes", pack('J', $block))) {
            my $eq = index($entry, '=');
            push @pairs, [substr($entry, 0, $eq), substr($entry, $eq + 1)] if $eq > 0;
        }
    }
    # %ENV, and environ in the same order as the request's (a fresh perl
    # keeps environ's order; appending one by one does too).
    %ENV = ();
    $ENV{$_->[0]} = $_->[1] . $taint for @pairs;
    $^T = time;
    CORE::srand() unless $srand_called;
    $! = $errno;
}

1;
