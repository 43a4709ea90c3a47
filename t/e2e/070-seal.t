# Personal data sealed end to end: nginx seals each record's personal
# fields to the key keryud publishes, keryud opens them and keeps them
# encrypted under its data key with blind indexes; the sealing key is
# rotated while requests flow, and every record still reads back in full
# through the API, by user and by address, while neither store's files
# hold the user agent, the query, the user or the address in the clear.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use HTTP::Tiny;
use JSON::PP qw(encode_json);
use Test::More;
use KeryuTest;


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


sub raw {
    my ($file) = @_;
    local $/;
    open my $fh, '<', $file or die "$file: $!";
    binmode $fh;
    return scalar <$fh>;
}


my $dir = scratch();
my $port = free_port();
my $api = free_port();

# the address is sealed too: 127.0.0.1 in network order, as it would sit
# in a plain record
my $addr_bytes = pack('C4', 127, 0, 0, 1);

open my $mk, '>', "$dir/master-key" or die $!;
print $mk join('', map { sprintf '%02x', int rand 256 } 1 .. 32), "\n";
close $mk;
chmod 0600, "$dir/master-key";

open my $kc, '>', "$dir/keryud.conf" or die $!;
print $kc "store $dir/store;\n", "data $dir/keryud-data;\n",
          "listen 127.0.0.1:$api;\n", "pid_file $dir/keryud.pid;\n",
          "poll_interval 20ms;\n", "master_key $dir/master-key;\n";
close $kc;

# sealing required: until keryud publishes a key, the header only
start_nginx($dir, port => $port, workers => 2, store => 'flush=10ms',
            http => 'keryu_seal on; keryu_fail open;',
            server => 'location /login { keryu_event login '
                      . 'user=$http_x_user; return 200 "ok\n"; }');

my $kd = start_keryud($dir, $api);
my $token = keryud_token($dir, 'admin');

# both workers seal once a probe of each comes back sealed with key v1
ok(wait_until(10, sub {
    http($port, 'GET', '/probe') for 1 .. 4;
    my @r = grep { $_->{uri} eq '/probe' } ring_records("$dir/store");
    return @r >= 8 && (grep { $_->{flags} & 2 } @r[-4 .. -1]) == 4;
}), 'workers seal to the published key');

my $n = 0;
my $send = sub {
    my ($count) = @_;
    for (1 .. $count) {
        $n++;
        my $r = http($port, 'GET', "/login/$n?q=e2e-query-$n",
                     'User-Agent' => "e2e-agent-$n", 'X-User' => 'e2e-carol');
        die "request $n: $r->{status}" unless $r->{status} == 200;
    }
};

$send->(100);

# rotation while requests flow
my $r = HTTP::Tiny->new->request('POST',
    "http://127.0.0.1:$api/api/security/keys/rotate/",
    { headers => { Authorization => "Bearer $token",
                   'Content-Type' => 'application/json' },
      content => encode_json({ key_type => 'log_sealing' }) });
is($r->{status}, 200, 'log_sealing rotated') or diag $r->{content};

$send->(100);

# the workers pick the new version up within a flush; then more
ok(wait_until(10, sub {
    http($port, 'GET', '/probe2') for 1 .. 4;
    my @r = grep { $_->{uri} eq '/probe2' } ring_records("$dir/store");
    return @r >= 4 && (grep { unpack('V', $_->{sealed}) == 2 } @r[-4 .. -1])
                      == 4;
}), 'workers seal to v2 after the rotation');

$send->(100);

my @ring = grep { $_->{uri} =~ m{^/login/} } ring_records("$dir/store");
my %versions;
$versions{ unpack('V', $_->{sealed}) }++ for grep { $_->{flags} & 2 } @ring;
is(scalar(grep { !($_->{flags} & 2) } @ring), 0,
   'every request of the stream was sealed in the ring');
ok($versions{1} && $versions{2}, 'under both versions of the key')
    or diag explain \%versions;

my $items = wait_until(10, sub {
    my $i = all_items($api, $token, '/api/security/logs/?event_type=login');
    $i && @$i == 300 ? $i : undef;
});
is(scalar @{ $items || [] }, 300, 'every record visible through the API');

my %by_n = map { $_->{uri} =~ m{^/login/(\d+)\?} ? ($1 => $_) : () }
           @{ $items || [] };
is(scalar(grep {
       my $i = $by_n{$_};
       $i && $i->{user_agent} eq "e2e-agent-$_"
          && $i->{uri} eq "/login/$_?q=e2e-query-$_"
          && $i->{user} eq 'e2e-carol' && $i->{ip} eq '127.0.0.1'
   } 1 .. 300), 300, 'each reads back in full: agent, query, user, address');

my $u = all_items($api, $token, '/api/security/logs/?user=e2e-carol');
is(scalar @{ $u || [] }, 300, '?user= finds them through the blind index');

my @ipl = grep { $_->{event_type} eq 'login' }
          @{ all_items($api, $token, '/api/security/logs/?ip=127.0.0.1')
             || [] };
is(scalar @ipl, 300, '?ip= finds them through the blind index');

my ($status, $body) = api($api, $token, '/api/security/status/');
is($body->{keryud}{unsealable}, 0, 'no record left sealed');

my ($ms, $metrics, $mr) = api($api, $token, '/api/security/metrics/');
like($mr->{content}, qr/^keryu_records_unsealable_total 0$/m,
     'unsealable records in the metrics');

# nothing personal in either store's files
is(stop_keryud($kd, 'TERM'), 0, 'keryud stops on TERM');

my $shared = raw("$dir/store/data.mdb");
my $own = raw("$dir/keryud-data/data.mdb");

for my $name ('e2e-agent-', 'e2e-query-', 'e2e-carol') {
    ok(index($shared, $name) < 0, "\"$name\" is not in the shared store");
    ok(index($own, $name) < 0, "\"$name\" is not in keryud's store");
}

ok(index($own, '/login/17') >= 0, "keryud's store holds the plain path");
ok(index($own, $addr_bytes . "\0" x 12) < 0
   && index($shared, $addr_bytes . "\0" x 12) < 0,
   'the client address is not in either store as a record holds it');

# the subject is erased through its blind index
$kd = start_keryud($dir, $api);
$r = HTTP::Tiny->new->request('DELETE',
    "http://127.0.0.1:$api/api/security/subjects/e2e-carol/",
    { headers => { Authorization => "Bearer $token" } });
is($r->{status}, 200, 'subject erased') or diag $r->{content};
$u = all_items($api, $token, '/api/security/logs/?event_type=login');
is(scalar(grep { $_->{user} && $_->{user} eq 'e2e-carol' } @{ $u || [] }),
   0, 'none of its records is left');

is(stop_keryud($kd, 'TERM'), 0, 'keryud stops on TERM');
stop_nginx($dir);

done_testing();
