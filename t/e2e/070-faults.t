# Faults under load: a worker killed with SIGKILL in the middle of a
# burst, and the shared store's map full.  After each, nothing crashed, every answered request's record is
# in keryud once, every sequence number the ring handed out is in keryud
# once or counted as lost, and the fault shows in /api/security/status and
# /metrics, with an alert where someone has to act.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use KeryuTest;


my $dir = scratch();
my $port = free_port();
my $api = free_port();
my $ring = 3000;

start_nginx($dir, port => $port, workers => 2, store => "ring=$ring",
            server => 'location /p/ { keryu_access on; return 200; }');

open my $fh, '>', "$dir/keryud.conf" or die $!;
print $fh "store $dir/store;\ndata $dir/keryud-data;\n",
          "listen 127.0.0.1:$api;\npid_file $dir/keryud.pid;\n",
          "poll_interval 20ms;\nsync_interval 100ms;\n",
          "default_policies off;\n";
close $fh;

my $token = keryud_token($dir, 'admin');
my $kd = start_keryud($dir, $api);


# a load generator in its own process: GET /load/TAG/N until TERM, then
# the numbers that were answered 200, one a line, in $dir/load.TAG
sub load_start {
    my ($tag) = @_;
    my $pid = fork // die "fork: $!";

    # the child never runs the END blocks, which would stop keryud
    if ($pid == 0) {
        my ($stop, @ok) = (0);
        local $SIG{TERM} = sub { $stop = 1 };
        eval {
            my $ua = HTTP::Tiny->new(timeout => 5, keep_alive => 0);

            for (my $n = 1; !$stop; $n++) {
                my $r = $ua->get("http://127.0.0.1:$port/load/$tag/$n");
                push @ok, $n if $r->{status} == 200;
            }

            open my $out, '>', "$dir/load.$tag.new" or die;
            print $out map { "$_\n" } @ok;
            close $out;
            rename "$dir/load.$tag.new", "$dir/load.$tag";
        };
        POSIX::_exit($@ ? 1 : 0);
    }

    return $pid;
}

# stops a generator; returns the numbers answered
sub load_stop {
    my ($pid, $tag) = @_;
    kill 'TERM', $pid;
    waitpid $pid, 0;
    open my $in, '<', "$dir/load.$tag" or die "no load.$tag";
    chomp(my @ok = <$in>);
    return @ok;
}

# waits until at least $n more requests of $tag were answered
sub load_wait {
    my ($n) = @_;
    my (undef, $s) = api($api, $token, '/api/security/status/');
    my $from = $s->{store}{last_seq};
    wait_until(20, sub {
        my (undef, $t) = api($api, $token, '/api/security/status/');
        $t && $t->{store}{last_seq} >= $from + $n;
    }) or die "the load did not get through: ", explain([api($api, $token, "/api/security/status/")]->[2]),
              `tail -5 $dir/logs/error.log`, `tail -5 $dir/logs/keryud.log`;
}

sub status {
    my ($code, $body) = api($api, $token, '/api/security/status/');
    return $code == 200 ? $body : undef;
}

sub metric {
    my ($name) = @_;
    my $r = http($api, 'GET', '/api/security/metrics',
                 Authorization => "Bearer $token");
    return $r->{content} =~ /^\Q$name\E (\d+)$/m ? $1 : undef;
}

sub alerts {
    my ($rule) = @_;
    my ($code, $body) = api($api, $token, "/api/security/alerts/?rule=$rule");
    return $code == 200 ? @{ $body->{items} } : ();
}

# waits until keryud has read everything the ring holds
sub caught_up {
    return wait_until(20, sub {
        my $s = status();
        $s && $s->{store}{last_seq} == $s->{keryud}{last_seq}
           && $s->{store}{lag} == 0 ? $s : undef;
    });
}

# every record keryud holds: sequence number => count, uri => count
sub held {
    my (%seq, %uri, $cursor);

    for (;;) {
        my ($code, $body) = api($api, $token, '/api/security/logs/?limit=1000'
                                . (defined $cursor ? "&cursor=$cursor" : ''));
        die "logs: $code" unless $code == 200;
        for (@{ $body->{items} }) {
            $seq{ $_->{seq} }++;
            $uri{ $_->{uri} }++;
        }
        $cursor = $body->{next_cursor};
        last unless defined $cursor;
    }

    return (\%seq, \%uri);
}

# the invariant after every fault: each sequence number once or lost
sub consistent {
    my ($name, $answered, $tag) = @_;
    my ($s, $seq, $uri);

    # the last answers may still be staged: wait for them, then judge
    wait_until(20, sub {
        $s = caught_up() or return 0;
        ($seq, $uri) = held();
        return !$answered || !grep { !$uri->{"/load/$tag/$_"} } @$answered;
    });
    ok($s, "$name: keryud caught up") or return;

    my @twice = grep { $seq->{$_} > 1 } keys %$seq;
    is(scalar @twice, 0, "$name: no sequence number twice");

    my $last = $s->{store}{last_seq};
    my $missing = grep { !$seq->{$_} } 1 .. $last;
    is($missing, $s->{keryud}{lost},
       "$name: the sequence numbers missing are those counted as lost");

    if ($answered) {
        my @gone = grep { !$uri->{"/load/$tag/$_"} } @$answered;
        is(scalar @gone, 0, "$name: every answered request is in keryud")
            or diag "missing: @gone[0 .. ($#gone < 9 ? $#gone : 9)]";
        my @dup = grep { ($uri->{"/load/$tag/$_"} // 0) > 1 } @$answered;
        is(scalar @dup, 0, "$name: once");
    }

    return $s;
}

sub alive {
    my ($what, $pid) = @_;
    ok($pid && kill(0, $pid), "$what still runs");
}

sub master { return read_pid("$dir/nginx.pid") }


subtest 'a worker killed in the middle of a burst' => sub {
    my $g = load_start('kill');
    load_wait(200);

    my ($victim) = nginx_workers($dir);
    kill 'KILL', $victim;

    ok(wait_until(10, sub {
        my @w = nginx_workers($dir);
        @w == 2 && !grep { $_ == $victim } @w;
    }), 'the master starts a new worker');

    load_wait(200);
    my @ok = load_stop($g, 'kill');

    consistent('worker killed', \@ok, 'kill');

    like(`cat $dir/logs/error.log`,
         qr/worker process $victim exited on signal 9/,
         'nginx saw the worker die');

    ok(wait_until(10, sub {
        my $s = status();
        $s->{module}{workers_crashed} >= 1 ? 1 : 0;
    }), 'status counts the worker that died without a word');
    ok((metric('keryu_workers_crashed_total') // 0) >= 1, 'so do the metrics');

    my ($a) = alerts('worker_crashed');
    ok($a, 'an alert is raised');
    like($a && $a->{summary}, qr/\b$victim\b/, 'naming the worker');

    alive('keryud', $kd);
};


subtest 'the store\'s map full' => sub {
    my $d = scratch();
    my $p = free_port();

    start_nginx($d, port => $p, store => 'size=1m ring=1000000');

    my $ua = HTTP::Tiny->new(keep_alive => 1);
    my $path = '/full/' . ('y' x 3000);
    my $ok = 0;

    for my $n (1 .. 1500) {
        $ok++ if $ua->get("http://127.0.0.1:$p$path/$n")->{status} == 200;
    }

    is($ok, 1500, 'every request answered');

    my $m = wait_until(10, sub {
        my $meta = ring_meta("$d/store");
        ($meta->{map_full} // 0) >= 1 ? $meta : undef;
    });
    ok($m, 'the writers made room (map_full ' . ($m->{map_full} // 0) . ')');

    my $last = http($p, 'GET', '/after-full')->{status};
    ok(wait_until(10, sub {
        grep { $_->{uri} eq '/after-full' } ring_records("$d/store");
    }), 'records are written again after the map was full');

    like(`cat $d/logs/error.log`,
         qr/keryu store "[^"]+" is full, deleted the \d+ oldest records/,
         'the error log says what was deleted');

    # a keryud on that store shows it and raises an alert
    my $a2 = free_port();
    open my $kf, '>', "$d/keryud.conf" or die $!;
    print $kf "store $d/store;\ndata $d/keryud-data;\n",
              "listen 127.0.0.1:$a2;\npid_file $d/keryud.pid;\n",
              "poll_interval 20ms;\nsync_interval 100ms;\n",
              "default_policies off;\n";
    close $kf;
    my $t2 = keryud_token($d, 'admin');
    my $k2 = start_keryud($d, $a2);

    my $st = wait_until(10, sub {
        my ($c, $b) = api($a2, $t2, '/api/security/status/');
        $c == 200 && $b->{store}{map_full} >= 1 ? $b : undef;
    });
    ok($st, 'status: store.map_full');

    my $mt = http($a2, 'GET', '/api/security/metrics',
                  Authorization => "Bearer $t2")->{content};
    like($mt, qr/^keryu_store_map_full_total [1-9]\d*$/m, 'metrics');

    my $al = wait_until(10, sub {
        my ($c, $b) = api($a2, $t2, '/api/security/alerts/?rule=store_full');
        $c == 200 && @{ $b->{items} } ? $b->{items}[0] : undef;
    });
    ok($al, 'an alert is raised');
    like($al && $al->{summary}, qr/raise "size" of "keryu_store"/,
         'saying what to do');

    is(stop_keryud($k2, 'TERM'), 0, 'keryud stops');
    stop_nginx($d);
};


is(stop_keryud($kd, 'TERM'), 0, 'keryud stops on TERM at the end');
stop_nginx($dir);

unlike(`cat $dir/logs/keryud.log`, qr/Sanitizer|runtime error/,
       'no sanitizer reports from keryud');

done_testing();
