# The module's side of the ring, read back from the store with mdb_dump:
# record contents, sequence numbers across workers, the ring's bound,
# records that survive a killed worker, reloads, and a full store.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use Test::More;
use Time::HiRes qw(time sleep);
use KeryuTest;


sub records_for {
    my ($store, $re) = @_;
    return grep { $_->{uri} =~ $re } ring_records($store);
}


subtest 'a request is recorded with its metadata' => sub {
    my $dir = scratch();
    my $port = free_port();

    start_nginx($dir, port => $port);

    my $t0 = time;
    my $r = http($port, 'GET', '/path/a?x=1', 'User-Agent' => 'e2e-agent/1');
    my $t1 = time;
    is($r->{status}, 200, 'request answered');

    my ($rec) = wait_until(5, sub { records_for("$dir/store", qr{^/path/a}) });
    ok($rec, 'record reached the store') or return stop_nginx($dir);

    is($rec->{version}, 1, 'format version');
    is($rec->{type}, 'request', 'event type');
    is($rec->{status}, 200, 'status');
    is($rec->{method}, 'GET', 'method');
    is($rec->{uri}, '/path/a?x=1', 'uri with arguments');
    is($rec->{host}, '127.0.0.1', 'host');
    is($rec->{ip}, '127.0.0.1', 'client address');
    is($rec->{user_agent}, 'e2e-agent/1', 'user agent');
    is($rec->{user}, '', 'no user');
    is($rec->{seq}, $rec->{key}, 'key is the sequence number');
    ok($rec->{bytes_sent} > 0, 'bytes sent');
    ok($rec->{time_us} >= int($t0 * 1e6) - 1000
       && $rec->{time_us} <= int($t1 * 1e6) + 1000, 'time');
    is($rec->{used}, $rec->{size}, 'lengths cover the value exactly');
    is($rec->{flags}, 0, 'not truncated');

    http($port, 'GET', '/missing');
    my ($miss) = wait_until(5, sub { records_for("$dir/store", qr{^/missing}) });
    is($miss && $miss->{status}, 404, '404 recorded');

    my $long = '/long/' . ('x' x 5000);
    http($port, 'GET', $long);
    my ($lr) = wait_until(5, sub { records_for("$dir/store", qr{^/long/}) });
    is($lr && length $lr->{uri}, 4096, 'long uri cut at its cap');
    is($lr && $lr->{flags} & 1, 1, 'and flagged truncated');

    stop_nginx($dir);
};


subtest 'the client address is the one realip establishes' => sub {
    my $dir = scratch();
    my $port = free_port();

    start_nginx($dir, port => $port,
                server => 'set_real_ip_from 127.0.0.1; '
                          . 'real_ip_header X-Forwarded-For;');

    http($port, 'GET', '/realip/4', 'X-Forwarded-For' => '203.0.113.7');
    http($port, 'GET', '/realip/6', 'X-Forwarded-For' => '2001:db8::1');

    my @recs = wait_until(5, sub {
        my @r = records_for("$dir/store", qr{^/realip/});
        @r == 2 ? @r : ();
    });

    is($recs[0] && $recs[0]{ip}, '203.0.113.7', 'IPv4 from the header');
    is($recs[1] && $recs[1]{ip}, '2001:0db8:0000:0000:0000:0000:0000:0001',
       'IPv6 from the header');

    stop_nginx($dir);
};


subtest 'sequence numbers are unique and gapless across workers' => sub {
    my $dir = scratch();
    my $port = free_port();

    start_nginx($dir, port => $port, workers => 2);

    http($port, 'GET', "/seq/$_") for 1 .. 300;

    my @recs = wait_until(5, sub {
        my @r = records_for("$dir/store", qr{^/seq/});
        @r == 300 ? @r : ();
    });
    is(scalar @recs, 300, 'every request recorded once');

    my @all = ring_records("$dir/store");
    my @seq = map { $_->{seq} } @all;
    is_deeply(\@seq, [ $seq[0] .. $seq[0] + $#seq ], 'no gap, no repeat');

    my %uris = map { $_->{uri} => 1 } @recs;
    is(scalar keys %uris, 300, 'each uri present');

    stop_nginx($dir);
};


subtest 'the ring keeps the newest records up to its capacity' => sub {
    my $dir = scratch();
    my $port = free_port();

    start_nginx($dir, port => $port, store => 'ring=50');

    http($port, 'GET', "/ring/$_") for 1 .. 120;

    my @recs = wait_until(5, sub {
        my @r = ring_records("$dir/store");
        @r && $r[-1]{uri} eq '/ring/120' ? @r : ();
    });
    is(scalar @recs, 50, 'ring holds its capacity');
    is($recs[0]{uri}, '/ring/71', 'oldest kept record');

    my $m = ring_meta("$dir/store");
    is($m->{trimmed}, $m->{last_seq} - 50, 'evictions counted');
    is($m->{dropped}, $m->{trimmed}, 'unread evictions counted as dropped');

    stop_nginx($dir);
};


subtest 'a record survives its worker killed right after the response' => sub {
    my $dir = scratch();
    my $port = free_port();

    # a timer that never fires: only a restarted worker can commit
    start_nginx($dir, port => $port, store => 'flush=1h');

    my ($worker) = nginx_workers($dir);
    is(http($port, 'GET', '/killed')->{status}, 200, 'answered');

    # nginx logs a request just after writing its response; an answer to
    # the next request shows the single worker has finished the first
    is(http($port, 'GET', '/next')->{status}, 200, 'next one answered');
    kill 'KILL', $worker;

    my ($rec) = wait_until(5, sub { records_for("$dir/store", qr{^/killed}) });
    ok($rec, 'the new worker committed the staged record');

    stop_nginx($dir);
};


subtest 'reloads lose nothing and the master holds no store' => sub {
    my $dir = scratch();
    my $port = free_port();

    start_nginx($dir, port => $port, workers => 2);

    my $master = `cat $dir/nginx.pid`;
    chomp $master;

    for my $round (1 .. 5) {
        http($port, 'GET', "/reload/$round/$_") for 1 .. 20;
        system($KeryuTest::Nginx, '-p', $dir, '-c', "$dir/nginx.conf",
               '-s', 'reload');
    }

    my @recs = wait_until(10, sub {
        my @r = records_for("$dir/store", qr{^/reload/});
        @r == 100 ? @r : ();
    });
    is(scalar @recs, 100, 'every request across reloads recorded once');

    my @seq = map { $_->{seq} } ring_records("$dir/store");
    is_deeply(\@seq, [ $seq[0] .. $seq[0] + $#seq ], 'sequence continues');

    my @fds = grep { /\.mdb$/ } map { readlink $_ // '' }
              glob "/proc/$master/fd/*";
    is(scalar @fds, 0, 'master has no store file open');

    stop_nginx($dir);
};


subtest 'a full store does not fail requests and logs sparingly' => sub {
    my $dir = scratch();
    my $port = free_port();

    start_nginx($dir, port => $port, store => 'size=1m ring=1000000');

    my $path = '/full/' . ('y' x 4000);
    my $t0 = time;
    my $ok = 0;

    for (1 .. 600) {
        $ok++ if http($port, 'GET', "$path$_")->{status} == 200;
    }

    is($ok, 600, 'every request answered');

    ok(wait_until(5, sub {
        `cat $dir/logs/error.log` =~ /keryu store "[^"]+" is full/;
    }), 'map full reported');

    # Stopping flushes whatever is still staged, so every line the
    # workers will write about it is in the log once nginx is gone.
    # The limit works on whole seconds of nginx's clock: a span of
    # $secs touches at most int($secs) + 2 of them.

    stop_nginx($dir);

    my $secs = time - $t0;
    my @full = `cat $dir/logs/error.log` =~ /keryu store "[^"]+" is full/g;

    ok(@full <= int($secs) + 2, 'at most one line a second (' . @full
                                . ' in ' . sprintf('%.1f', $secs) . 's)');
};


done_testing();
