package Chromium;

# Renders a page in headless Chromium and reports what happened, over the
# DevTools protocol on a pipe (--remote-debugging-pipe: commands on fd 3,
# events and answers on fd 4, each a JSON message ended by a NUL), so no
# port is opened and no module beyond core Perl is needed:
#
#   my $r = Chromium::render("file:///tmp/report.html",
#                            'document.title');
#
# $r->{value} is the expression's value once the page has loaded,
# $r->{requests} the URLs the page asked for (the page itself included),
# $r->{console} its console messages and log entries as "level: text",
# $r->{exceptions} the uncaught exceptions' texts.  Dies when Chromium
# cannot be started or does not answer within 30 s.

use strict;
use warnings;

use IO::Handle;
use IO::Select;
use JSON::PP;
use POSIX ();
use File::Temp qw(tempdir);
use Time::HiRes qw(time);


sub binary {
    for my $b (qw(chromium chromium-browser google-chrome)) {
        for my $d (split /:/, $ENV{PATH}) {
            return "$d/$b" if -x "$d/$b";
        }
    }

    return undef;
}


sub render {
    my ($url, $expression) = @_;
    my $bin = binary() // die "chromium not found";
    my $profile = tempdir('keryu-chromium-XXXXXX', TMPDIR => 1,
                          CLEANUP => 1);
    my $json = JSON::PP->new->canonical;

    # the pipes must survive exec: no close-on-exec on any of them
    local $^F = 255;
    pipe(my $c_in, my $to_c) or die "pipe: $!";
    pipe(my $from_c, my $c_out) or die "pipe: $!";

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $to_c;
        close $from_c;
        my ($in, $out) = (fileno $c_in, fileno $c_out);

        # move both out of the way first, in case one already is fd 3 or 4
        my $in2 = POSIX::dup($in);
        my $out2 = POSIX::dup($out);
        POSIX::dup2($in2, 3);
        POSIX::dup2($out2, 4);
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', "$profile/stderr";
        no warnings 'exec';
        exec { $bin } $bin, '--headless', '--no-sandbox', '--disable-gpu',
            '--no-first-run', '--disable-background-networking',
            "--user-data-dir=$profile", '--remote-debugging-pipe',
            'about:blank';
        POSIX::_exit(127);
    }

    close $c_in;
    close $c_out;
    $to_c->autoflush(1);

    my ($id, $buf, @events) = (0, '');
    my $sel = IO::Select->new($from_c);

    my $read = sub {
        my ($deadline) = @_;
        for (;;) {
            my $i = index($buf, "\0");
            if ($i >= 0) {
                my $m = substr($buf, 0, $i);
                substr($buf, 0, $i + 1) = '';
                return $json->decode($m);
            }
            my $left = $deadline - time;
            die "chromium: no answer in time\n" if $left <= 0;
            next unless $sel->can_read($left);
            my $n = sysread($from_c, $buf, 65536, length $buf);
            die "chromium exited\n" unless $n;
        }
    };

    my $call = sub {
        my ($method, $params, $session) = @_;
        my %m = (id => ++$id, method => $method, params => $params // {});
        $m{sessionId} = $session if $session;
        print $to_c $json->encode(\%m), "\0";
        my $deadline = time + 30;
        for (;;) {
            my $m = $read->($deadline);
            if (defined $m->{id} && $m->{id} == $id) {
                die "chromium: $method: " . $json->encode($m->{error}) . "\n"
                    if $m->{error};
                return $m->{result};
            }
            push @events, $m;
        }
    };

    my %r = (requests => [], console => [], exceptions => []);

    eval {
        my $t = $call->('Target.createTarget', { url => 'about:blank' });
        my $s = $call->('Target.attachToTarget',
                        { targetId => $t->{targetId},
                          flatten => JSON::PP::true })->{sessionId};
        $call->($_, {}, $s)
            for qw(Page.enable Network.enable Runtime.enable Log.enable);
        @events = ();
        $call->('Page.navigate', { url => $url }, $s);

        my $deadline = time + 30;
        until (grep { ($_->{method} // '') eq 'Page.loadEventFired' }
               @events)
        {
            push @events, $read->($deadline);
        }

        my $v = $call->('Runtime.evaluate',
                        { expression => $expression,
                          returnByValue => JSON::PP::true }, $s);
        $r{value} = $v->{result}{value};

        # messages sent while the expression ran are in @events as well
        $call->('Browser.close');
        1;
    } or do {
        my $err = $@;
        kill 'KILL', $pid;
        waitpid $pid, 0;
        die $err;
    };

    waitpid $pid, 0;

    for my $e (@events) {
        my $m = $e->{method} // next;
        my $p = $e->{params};

        if ($m eq 'Network.requestWillBeSent') {
            push @{$r{requests}}, $p->{request}{url};

        } elsif ($m eq 'Runtime.consoleAPICalled') {
            push @{$r{console}}, "$p->{type}: "
                . join(' ', map { $_->{value} // $_->{type} }
                       @{$p->{args}});

        } elsif ($m eq 'Log.entryAdded') {
            push @{$r{console}}, "$p->{entry}{level}: $p->{entry}{text}";

        } elsif ($m eq 'Runtime.exceptionThrown') {
            push @{$r{exceptions}}, $p->{exceptionDetails}{text};
        }
    }

    return \%r;
}

1;
