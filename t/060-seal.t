# vim:set ft= ts=4 sw=4 et fdm=marker:

# Sealing personal fields at rest: with a sealing key published in the
# store, the user, address, user agent, query and details of each record
# are sealed to it, and the store's raw bytes hold none of them while the
# plain header (status, method, host, path) stays readable; the sealed
# part opens with the private key of the version it names.  With no key,
# "keryu_seal on" writes the header only under "keryu_fail open" and
# nothing under "keryu_fail closed"; "keryu_seal off" writes plain
# records.  t/api/sealkey.c plays keryud's part.

use FindBin;
use lib "$FindBin::Bin/e2e";
use File::Temp qw(tempdir);
use KeryuTest qw(ring_records ring_meta wait_until);
use Test::Nginx::Socket;

our ($dir, $helper);

$dir = tempdir('keryu-seal.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;

$helper = "$dir/sealkey";

system("cc -O2 -I $FindBin::Bin/../shared -o $helper "
       . "$FindBin::Bin/api/sealkey.c $FindBin::Bin/../shared/keryu_store.c "
       . "$FindBin::Bin/../shared/keryu_record.c "
       . "$FindBin::Bin/../shared/keryu_seal.c -llmdb -lcrypto") == 0
    or BAIL_OUT('cannot compile t/api/sealkey.c');

# the sealed store has key version 3 published before nginx starts; the
# other store has none
$ENV{TEST_NGINX_KERYU_SEALED} = "$dir/sealed";
$ENV{TEST_NGINX_KERYU_NOKEY} = "$dir/nokey";

system($helper, 'publish', "$dir/sealed", 3, "$dir/key3") == 0
    or BAIL_OUT('cannot publish a sealing key');

repeat_each(2);

my @sealed_locs = qw(s1 s2);
my @secrets = map { ("agent-secret-$_", "query-secret-$_", "user-secret-$_") }
              @sealed_locs, 'o4', 'c5';

plan tests => repeat_each()
              * (blocks() * 5 - 3 * grep { defined $_->must_die } blocks())
              + 4 * @sealed_locs + 6 + @secrets;

no_long_string();

# a missing key is logged at most once a second: both requests of a block
# see the one line
check_accum_error_log();
no_shuffle();
run_tests();

my (%sealed, %nokey);

# the last blocks' records reach the stores within a flush
wait_until(5, sub {
    %sealed = ();
    %nokey = ();
    for my $r (ring_records("$dir/sealed")) {
        push @{ $sealed{$1} }, $r if $r->{uri} =~ m{^/(\w+)};
    }
    for my $r (ring_records("$dir/nokey")) {
        push @{ $nokey{$1} }, $r if $r->{uri} =~ m{^/(\w+)};
    }
    return @{ $sealed{s1} || [] } == 2 && @{ $sealed{s2} || [] } == 2
           && @{ $sealed{p3} || [] } == 2 && @{ $nokey{o4} || [] } == 2;
});

for my $loc (@sealed_locs) {
    my @r = @{ $sealed{$loc} || [] };
    is(scalar(grep { $_->{flags} & 2 && $_->{version} == 2 } @r), 2,
       "$loc: records are sealed, version 2");
    is(scalar(grep { $_->{uri} eq "/$loc/path" && $_->{status} == 200
                     && $_->{method} eq 'GET' && $_->{host} eq 'localhost' }
              @r), 2, "$loc: the plain header stays: path, status, method");
    is(scalar(grep { !defined $_->{ip} && $_->{user} eq ''
                     && $_->{user_agent} eq '' } @r), 2,
       "$loc: no address, user or agent outside the sealed part");
}

# the sealed part opens with the private key of its version
my @opened = `$helper open $dir/sealed $dir/key3`;
for my $loc (@sealed_locs) {
    is(scalar(grep { /\tagent-secret-$loc\t\/$loc\/path\?q=query-secret-$loc$/ }
              @opened), 2, "$loc: the sealed part opens with key v3");
}

is_deeply([ map { $_->{user_agent} } @{ $sealed{p3} } ],
          [ ('agent-plain-p3') x 2 ], 'keryu_seal off: plain records');

is_deeply([ map { [ $_->{flags}, $_->{version}, $_->{user_agent},
                    $_->{uri}, $_->{status} ] } @{ $nokey{o4} } ],
          [ ([ 8, 2, '', '/o4/path', 200 ]) x 2 ],
          'no key, keryu_fail open: the header only, flagged omitted');

is(scalar @{ $nokey{c5} || [] }, 0, 'no key, keryu_fail closed: no record');
ok(ring_meta("$dir/nokey")->{nokey} >= 4,
   'records without a key are counted in "nokey"');

# nothing personal in the raw files
my $raw = '';
for my $s ("$dir/sealed", "$dir/nokey") {
    local $/;
    open my $fh, '<', "$s/data.mdb" or die "$s/data.mdb: $!";
    binmode $fh;
    $raw .= <$fh>;
}

ok(index($raw, '/s1/path') >= 0, 'data.mdb holds the plain path');
ok(index($raw, 'agent-plain-p3') >= 0, 'data.mdb holds the unsealed agent');

for my $s (@secrets) {
    ok(index($raw, $s) < 0, "\"$s\" is nowhere in data.mdb");
}

__DATA__

=== TEST 1: keryu_seal on seals the personal fields
--- http_config
    keryu_store $TEST_NGINX_KERYU_SEALED flush=10ms;
    keryu_seal on;
--- config
    keryu_log on;

    location /s1 {
        keryu_event login user=$http_x_user;
        return 200 "ok\n";
    }
--- request
GET /s1/path?q=query-secret-s1
--- more_headers
User-Agent: agent-secret-s1
X-User: user-secret-s1
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: by default records are sealed once a key is published
--- http_config
    keryu_store $TEST_NGINX_KERYU_SEALED flush=10ms;
--- config
    keryu_log on;

    location /s2 {
        keryu_event login user=$http_x_user;
        return 200 "ok\n";
    }
--- request
GET /s2/path?q=query-secret-s2
--- more_headers
User-Agent: agent-secret-s2
X-User: user-secret-s2
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: keryu_seal off writes plain records
--- http_config
    keryu_store $TEST_NGINX_KERYU_SEALED flush=10ms;
--- config
    keryu_log on;
    keryu_seal off;

    location /p3 {
        return 200 "ok\n";
    }
--- request
GET /p3/path?q=plain
--- more_headers
User-Agent: agent-plain-p3
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: no key and keryu_fail open: the header only
--- http_config
    keryu_store $TEST_NGINX_KERYU_NOKEY flush=10ms;
    keryu_seal on;
--- config
    keryu_log on;
    keryu_fail open;

    location /o4 {
        keryu_event login user=$http_x_user;
        return 200 "ok\n";
    }
--- request
GET /o4/path?q=query-secret-o4
--- more_headers
User-Agent: agent-secret-o4
X-User: user-secret-o4
--- response_body
ok
--- error_log
personal fields are not recorded
--- no_error_log
[alert]
[crit]



=== TEST 5: no key and keryu_fail closed: no record
--- http_config
    keryu_store $TEST_NGINX_KERYU_NOKEY flush=10ms;
    keryu_seal on;
--- config
    keryu_log on;

    location /c5 {
        keryu_event login user=$http_x_user;
        return 200 "ok\n";
    }
--- request
GET /c5/path?q=query-secret-c5
--- more_headers
User-Agent: agent-secret-c5
X-User: user-secret-c5
--- response_body
ok
--- error_log
personal fields are not recorded
--- no_error_log
[alert]
[crit]



=== TEST 6: keryu_seal not in a location
--- http_config
    keryu_store $TEST_NGINX_KERYU_SEALED;
--- config
    location /t {
        keryu_seal on;
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
"keryu_seal" directive is not allowed here



=== TEST 7: keryu_seal takes on or off
--- http_config
    keryu_store $TEST_NGINX_KERYU_SEALED;
    keryu_seal always;
--- config
    location /t {
        return 200;
    }
--- request
GET /t
--- must_die
--- error_log
invalid value "always" in "keryu_seal" directive, it must be "on" or "off"
