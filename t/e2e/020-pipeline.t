# Requests through nginx, read back from keryud's API: every record once,
# with keryud stopped, killed and restarted in the middle of the stream.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use Test::More;
use KeryuTest;


# every item of an endpoint, following next_cursor to the end
sub all_items {
    my ($port, $token, $path) = @_;
    my (@items, $cursor);

    for (my $page = 0; $page < 1000; $page++) {
        my $q = $path . ($path =~ /\?/ ? '&' : '?') . 'limit=1000'
                . (defined $cursor ? "&cursor=$cursor" : '');
        my ($status, $body) = api($port, $token, $q);

        return undef unless $status == 200;

        push @items, @{ $body->{items} };
        $cursor = $body->{next_cursor};
        last unless defined $cursor;
    }

    return \@items;
}


sub stream_uris {
    my ($port, $token) = @_;
    my $items = all_items($port, $token, '/api/security/logs/') || [];
    return grep { m{^/stream/} } map { $_->{uri} } @$items;
}


my $dir = scratch();
my $port = free_port();
my $api = free_port();

start_nginx($dir, port => $port, workers => 2);

my $kd = start_keryud($dir, $api);
my $token = keryud_token($dir, 'admin');
my $n = 0;

my $send = sub {
    my ($count) = @_;
    for (1 .. $count) {
        $n++;
        http($port, 'GET', "/stream/$n", 'User-Agent' => 'pipeline');
    }
};

$send->(150);

my @uris = wait_until(10, sub {
    my @u = stream_uris($api, $token);
    @u == 150 ? @u : ();
});
is(scalar @uris, 150, 'first 150 requests visible through the API');
is($uris[0], '/stream/150', 'newest first');

my ($status, $body) = api($api, $token, '/api/security/logs/?limit=1');
my $item = $body->{items}[0];
is($item->{method}, 'GET', 'method');
is($item->{ip}, '127.0.0.1', 'client address');
is($item->{user_agent}, 'pipeline', 'user agent');
is($item->{status}, 200, 'status');
is($item->{event_type}, 'request', 'event type');
like($item->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'time');

# stopped cleanly while requests keep coming
is(stop_keryud($kd, 'TERM'), 0, 'keryud stops on TERM');
$send->(150);
$kd = start_keryud($dir, $api);

# killed outright in the middle of a stream
$send->(100);
stop_keryud($kd, 'KILL');
$send->(100);
$kd = start_keryud($dir, $api);

@uris = wait_until(10, sub {
    my @u = stream_uris($api, $token);
    @u >= 500 ? @u : ();
});

my %seen;
$seen{$_}++ for @uris;

is(scalar @uris, 500, 'every request stored, after a stop and a kill');
is(scalar(grep { $seen{$_} > 1 } keys %seen), 0, 'none stored twice');
is(scalar(grep { !$seen{"/stream/$_"} } 1 .. 500), 0, 'none missing');

my $items = all_items($api, $token, '/api/security/logs/');
my @seq = map { $_->{seq} }
          grep { $_->{event_type} ne 'system_change' } reverse @$items;
is_deeply(\@seq, [ $seq[0] .. $seq[0] + $#seq ],
          'sequence numbers consecutive, each once');

($status, $body) = api($api, $token, '/api/security/status/');
is($status, 200, 'status endpoint');
is($body->{keryud}{lost}, 0, 'nothing lost');
is($body->{store}{lag}, 0, 'keryud has caught up');

is(stop_keryud($kd, 'TERM'), 0, 'keryud stops on TERM');
stop_nginx($dir);

done_testing();
