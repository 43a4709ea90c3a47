# Enforcement as operators change it at run time: a policy change applies
# to the next request in every worker without a reload, a set that does
# not compile is never half-applied, and blocks take effect at once.
# keryud runs beside nginx and shows what each worker enforces.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin, "$FindBin::Bin/../lib";

use HTTP::Tiny;
use JSON::PP;
use Test::More;
use KeryuTest;
use KeryuFixture;


my $true = JSON::PP::true;

sub access_policy {
    my ($effect) = @_;
    return { name => 'hot', policy_type => 'access',
             rules => [ { id => 'p', path => '/p/', match => 'prefix',
                          effect => $effect, anyone => $true } ] };
}

my $store = make_store(policies => [ access_policy('allow') ]);
(my $dir = $store) =~ s{/store$}{};
my $port = free_port();
mkdir "$dir/logs";

# the scratch helper writes nginx.conf beside the store
start_nginx($dir, port => $port, workers => 2,
            server => 'location /p/ { keryu_access on; stub_status; '
                      . 'keryu_identity bearer apikey=X-Api-Key; }');

# keryud on the same store; no shipped policies, so nothing it detects
# blocks this test's client
my $api = free_port();
open my $kc, '>>', "$dir/keryud.conf" or die $!;
print $kc "listen 127.0.0.1:$api;\npoll_interval 20ms;\n",
          "sync_interval 100ms;\ndefault_policies off;\n";
close $kc;
start_keryud($dir, $api);
my $token = keryud_token($dir, 'auditor');
my @workers = sort { $a <=> $b } nginx_workers($dir);

sub status_of {
    my ($path, %h) = @_;
    return http($port, 'GET', $path, %h)->{status};
}

# several requests, so that both workers answer some of them
sub statuses {
    my %seen;
    $seen{ status_of('/p/x') }++ for 1 .. 10;
    return join ',', sort keys %seen;
}

is(statuses(), '200', 'allowed by the first policy set');

my ($allowed) = wait_until(5, sub {
    grep { $_->{uri} eq '/p/x' && $_->{status} == 200 } ring_records($store);
});
is($allowed && $allowed->{details}, '{"rule":"hot/p"}',
   'an allowed request records the rule that allowed it');

ok(workers_report(ring_meta($store)->{config_version}),
   'every worker reports the version it enforces');

write_json("$dir/deny.json", access_policy('deny'));
store_cli($store, 'policy', 'apply', "$dir/deny.json");
is(statuses(), '403', 'a changed policy applies to the next request');

write_json("$dir/allow.json", access_policy('allow'));
store_cli($store, 'policy', 'apply', "$dir/allow.json");
is(statuses(), '200', 'and changes back');

# every worker follows the store by itself, busy or idle
my $meta = ring_meta($store);
ok(workers_logged(qr/keryu policies version $meta->{config_version} loaded/),
   'both workers compiled the newest set');
ok(workers_report($meta->{config_version}),
   'and keryud shows both on it after the change');

my ($code, $st) = api($api, $token, '/api/security/status/');
is_deeply([ map { $_->{pid} } @{ $st->{module}{workers} } ], \@workers,
          'status lists exactly the live workers');
is($st->{enforcement}{policy_version}, $meta->{config_version},
   'status: the policy version');
is($st->{enforcement}{workers_behind}, 0, 'status: no worker behind');

my $v = $meta->{config_version};
my $metrics = wait_until(5, sub {
    my $body = http($api, 'GET', '/api/security/metrics',
                    Authorization => "Bearer $token")->{content};
    $body =~ /^keryu_requests_total\{decision="deny",rule="hot\/p"\} /m
        ? $body : undef;
}) // '';
for my $pid (@workers) {
    like($metrics, qr/^keryu_worker_policy_version\{pid="$pid"\} $v$/m,
         "metrics: worker $pid enforces version $v");
}
like($metrics, qr/^keryu_requests_total\{decision="allow",rule="hot\/p"\} \d/m,
     'metrics: requests allowed by hot/p');
like($metrics, qr/^keryu_requests_total\{decision="deny",rule="hot\/p"\} \d/m,
     'metrics: requests denied by hot/p');

# a policy that does not compile, written behind keryud's back
my $bad = '{"name":"broken","policy_type":"access","rules":[{"id":"x"}]}';
open my $fh, '|-', "mdb_load -T -s policies $store" or die;
print $fh "broken\n$bad\n";
close $fh or die "mdb_load policies failed";
open $fh, '|-', "mdb_load -T -s meta $store" or die;
printf $fh "config_version\n%s\n",
    join '', map { sprintf '\\%02x', $_ }
             unpack 'C8', pack 'Q<', $meta->{config_version} + 1;
close $fh or die "mdb_load meta failed";

my $bad_version = $meta->{config_version} + 1;
ok(workers_logged(qr/keryu policies version $bad_version rejected, /
                  . qr/the last good set stays in force: /
                  . qr/policy "broken": rule "x"/),
   'both workers refused it, naming the problem');

is(statuses(), '200', 'a set that does not compile leaves the last good one');

ok(wait_until(5, sub {
       my ($c, $b) = api($api, $token, '/api/security/status/');
       $c == 200 && $b->{enforcement}{workers_behind} == 2;
   }), 'keryud shows both workers behind the store');

my @lines = grep { /keryu policies version $bad_version rejected/ }
            split /\n/, `cat $dir/logs/error.log`;
is(scalar @lines, 2, 'the rejection is logged once by each worker');

store_cli($store, 'policy', 'delete', 'broken');
ok(workers_report(ring_meta($store)->{config_version}),
   'and both on the version after the broken set is gone');
store_cli($store, 'block', 'add', '--ip', '127.0.0.1', '--reason', 'e2e');
is(statuses(), '403', 'a block applies to the next request');

my $r = http($port, 'GET', '/p/x');
is($r->{content}, qq({"error":"forbidden","reason":"blocked address"}\n),
   'with a short JSON body');

my ($denied) = wait_until(5, sub {
    grep { $_->{status} == 403 && $_->{details} =~ /"block"/ }
    ring_records($store);
});
is($denied && $denied->{type}, 'permission_denied',
   'a blocked request is a permission_denied event');
is($denied && $denied->{details},
   '{"reason":"blocked address","rule":"block",'
   . '"block":"127.0.0.1/32: e2e"}', 'that names the block');

store_cli($store, 'block', 'delete', '--ip', '127.0.0.1');
is(statuses(), '200', 'and lifting it too');

# verified tokens are cached per worker; a key's removal ends them at once
my $secret = 'a secret for the cache check, long enough for HS256';
open my $sf, '>', "$dir/hs.secret" or die $!;
print $sf $secret;
close $sf;
chmod 0600, "$dir/hs.secret";

write_json("$dir/tok.json",
           { name => 'tok', policy_type => 'access', priority => 10,
             rules => [ { id => 'j', path => '/p/j', effect => 'allow',
                          authenticated => $true },
                        { id => 'others', path => '/p/j', effect => 'deny',
                          anyone => $true } ] });
store_cli($store, 'policy', 'apply', "$dir/tok.json");
store_cli($store, 'key', 'add', '--kid', 'hs', '--alg', 'HS256',
          '--secret-file', "$dir/hs.secret");

my $jwt = jwt(alg => 'HS256', secret => $secret, header => { kid => 'hs' },
              claims => { sub => 'cached', exp => time + 600 });
my %auth = (Authorization => "Bearer $jwt");
my %seen;
$seen{ status_of('/p/j', %auth) }++ for 1 .. 10;
is(join(',', sort keys %seen), '200', 'a token is accepted, again and again');
is(status_of('/p/j'), 403, 'the path is not open without one');

store_cli($store, 'key', 'delete', 'hs');
%seen = ();
$seen{ status_of('/p/j', %auth) }++ for 1 .. 10;
is(join(',', sort keys %seen), '403', 'and refused once its key is gone');

# an API key made through keryud's API is one the module accepts
write_json("$dir/ak.json",
           { name => 'ak', policy_type => 'access', priority => 10,
             rules => [ { id => 'k', path => '/p/k', effect => 'allow',
                          roles => ['deploy'] },
                        { id => 'others', path => '/p/k', effect => 'deny',
                          anyone => $true } ] });
store_cli($store, 'policy', 'apply', "$dir/ak.json");

my $admin = keryud_token($dir, 'admin');
my $ht = HTTP::Tiny->new(timeout => 5);
$r = $ht->request('POST', "http://127.0.0.1:$api/api/security/apikeys/",
                  { headers => { Authorization => "Bearer $admin",
                                 'Content-Type' => 'application/json' },
                    content => encode_json({ name => 'e2e-runner',
                                             roles => ['deploy'] }) });
is($r->{status}, 201, 'an API key created through the API');
my $apikey = eval { decode_json($r->{content})->{key} } // '';

%seen = ();
$seen{ status_of('/p/k', 'X-Api-Key' => $apikey) }++ for 1 .. 10;
is(join(',', sort keys %seen), '200', 'every worker accepts it');
is(status_of('/p/k'), 403, 'the path is not open without it');
is(status_of('/p/k', 'X-Api-Key' => "${apikey}x"), 403,
   'nor with another key');

$r = $ht->request('DELETE',
                  "http://127.0.0.1:$api/api/security/apikeys/e2e-runner/",
                  { headers => { Authorization => "Bearer $admin" } });
is($r->{status}, 204, 'revoked through the API');
%seen = ();
$seen{ status_of('/p/k', 'X-Api-Key' => $apikey) }++ for 1 .. 10;
is(join(',', sort keys %seen), '403', 'and refused from the next request');

stop_nginx($dir);

done_testing();


# true once keryud's status shows every worker, and only those, on $version
sub workers_report {
    my ($version) = @_;

    return wait_until(5, sub {
        my ($c, $b) = api($api, $token, '/api/security/status/');
        return 0 unless $c == 200;
        my %v = map { $_->{pid} => $_->{config_version} }
                @{ $b->{module}{workers} };
        return keys %v == @workers
               && !grep { ($v{$_} // -1) != $version } @workers;
    });
}


# true once every worker has logged a line matching $re
sub workers_logged {
    my ($re) = @_;
    my @workers = nginx_workers($dir);

    return wait_until(5, sub {
        my %pids;
        for (split /\n/, `cat $dir/logs/error.log`) {
            $pids{$1} = 1 if /$re/ && /\] (\d+)#/;
        }
        return !grep { !$pids{$_} } @workers;
    });
}


sub write_json {
    my ($path, $doc) = @_;
    open my $out, '>', $path or die $!;
    print $out encode_json($doc);
    close $out;
}
