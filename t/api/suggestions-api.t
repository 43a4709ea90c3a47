# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# GET /api/security/policies/suggestions/: shadow validation hits, in
# each of the forms the module writes in a record's details, grouped by
# rule, field, path and reason, with the shape observed and the change
# that would silence each group; documents proposed compile and are
# accepted by PUT; nothing of the requests but their paths is shown;
# roles and query errors.  Records are written by t/api/fill.c.  With
# nginx and the module built, one shadow rule is followed end to end:
# nginx -> the shared store -> keryud -> a suggestion.
#
# Run from the top of the tree after "make":
#
#     prove t/api/suggestions-api.t
#     KERYUD=build-asan/keryud prove t/api/suggestions-api.t

use strict;
use warnings;

use File::Spec;
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX ();
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;
use HTTP::Tiny;

my $keryud = $ENV{KERYUD} // 'build/keryud';
my $cc = $ENV{CC} // 'cc';
my $nginx = $ENV{KERYU_NGINX} // '/usr/sbin/nginx';
my $module = $ENV{MODULE} // 'build/ngx_http_keryu_module.so';

plan skip_all => "$keryud not built" unless -x $keryud;

my $true = JSON::PP::true;
my $false = JSON::PP::false;
my $dir = tempdir('keryud-sugg-XXXXXX', TMPDIR => 1,
                  CLEANUP => !$ENV{KERYU_KEEP});
chmod 0755, $dir;
my $fill = "$dir/fill";

system($cc, '-std=c99', '-D_GNU_SOURCE', '-Ishared', '-o', $fill,
       't/api/fill.c', 'shared/keryu_record.c', 'shared/keryu_store.c',
       '-llmdb') == 0
    or BAIL_OUT('cannot compile t/api/fill.c');

my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $base = '/api/security/policies/suggestions/';

write_file($conf, <<"EOF");
# suggestions-api.t
store $dir/store;
data $dir/data;
listen 127.0.0.1:$port;
poll_interval 10ms;
sync_interval 50ms;
pid_file $dir/keryud.pid;
default_policies off;
retention off;
EOF

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

for my $role (qw(admin auditor viewer)) {
    chomp($token{$role} =
              `$keryud -c $conf token create --role $role --name $role`);
    is($? >> 8, 0, "token create $role");
}

my $pid = start_keryud();

my %shop = (
    name => 'shop', policy_type => 'validation', shadow => $true,
    rules => [
        { id => 'search', path => '/search', methods => ['GET'],
          max_args => 3, unknown_args => 'deny',
          args => {
              q => { type => 'string', maxLength => 10 },
              page => { type => 'integer', min => 1, max => 100 },
              sort => { type => 'enum', enum => ['asc', 'desc'] },
              ref => { type => 'uuid', required => $true },
              name => { type => 'string', minLength => 3 },
          } },
        { id => 'order', path => '/orders/{id}',
          segments => { id => { type => 'integer', min => 1,
                                max => 1000 } } },
        { id => 'short', path => '/short', max_uri_length => 16 },
    ],
);

my $r = request('POST', '/api/security/policies/', $token{admin}, \%shop);
is($r->{status}, 201, 'the validation policy is stored');


# an empty store: no suggestions

$r = request('GET', $base, $token{admin});
is($r->{status}, 200, 'suggestions with no records');
my $doc = decode($r);
is_deeply($doc->{items}, [], 'no records: no items');
ok($doc->{complete}, 'no records: the scan is complete');


# the hits, in the three forms of details

my $secret = 'SECRETVALUE0123';

sub hit {
    my ($n, $details, @more) = @_;
    fill($n, 'details=' . encode_json($details), @more);
}

# form one: the validation rule alone
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'q',
         invalid => 'too long', length => 14 },
    "uri=/search?q=$secret", 'time=1800000000');
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'q',
         invalid => 'too long', length => 23 },
    "uri=/search?q=$secret$secret", 'time=1800000300');
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'q',
         invalid => 'too long', length => 11 },
    'uri=/search?q=abcdefghijk', 'time=1800000100');

# form two: keryu_access's details with "shadow"
hit(2, { rule => 'site/open', shadow => 'shop/search', field => 'page',
         invalid => 'out of range', length => 3, range => 'above',
         bound => 500 }, 'uri=/search?page=432');
hit(1, { rule => 'site/open', shadow => 'shop/search', field => 'page',
         invalid => 'out of range', length => 2, range => 'below',
         bound => -10 }, 'uri=/search?page=-7');
hit(1, { rule => 'site/open', shadow => 'shop/search', field => 'page',
         invalid => 'out of range', length => 25, range => 'overflow' },
    'uri=/search?page=99999999999999999999999');

# form three: keryu_access wrote a shadow of its own
hit(1, { reason => 'shadow', rule => 'site/admin', shadow => 'site/admin',
         shadow_validation => 'shop/order', field => 'id',
         invalid => 'out of range', length => 4, range => 'above',
         bound => 2000 }, 'uri=/orders/1500');
hit(1, { reason => 'shadow', rule => 'shop/order', field => 'id',
         invalid => 'out of range', length => 4, range => 'above',
         bound => 5000 }, 'uri=/orders/4999?x=1');

# the other reasons
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'method',
         invalid => 'method not allowed' }, 'method=PATCH',
    'uri=/search');
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'method',
         invalid => 'method not allowed' }, 'method=BREW',
    'uri=/search');
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'sort',
         invalid => 'not an allowed value', length => 6 },
    "uri=/search?sort=$secret");
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'args',
         invalid => 'too many arguments', count => 5 },
    'uri=/search?a=1&b=2&c=3&d=4&e=5');
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'ref',
         invalid => 'missing' }, 'uri=/search');
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'args',
         invalid => 'unknown argument' }, "uri=/search?$secret=1");
hit(1, { reason => 'shadow', rule => 'shop/search', field => 'name',
         invalid => 'too short', length => 1 }, 'uri=/search?name=x');
hit(1, { reason => 'shadow', rule => 'shop/short', field => 'uri',
         invalid => 'uri too long', length => 40 },
    'uri=/short?padding=0123456789012345678');

# a directive in shadow mode, on paths with ids
hit(2, { reason => 'shadow', rule => 'keryu_max_args', field => 'args',
         invalid => 'too many arguments', count => 9 },
    'uri=/users/123/files/123e4567-e89b-12d3-a456-426614174000?a=1');
hit(1, { reason => 'shadow', rule => 'keryu_max_args', field => 'args',
         invalid => 'too many arguments', count => 12 },
    'uri=/users/77/files/0f8fad5b-d9cb-469f-a165-70867728950e');

# a rule no longer stored
hit(1, { reason => 'shadow', rule => 'gone/rule', field => 'q',
         invalid => 'too long', length => 8 }, 'uri=/gone');

# what is not a shadow validation hit: a refusal, an access shadow, plain
fill(1, 'type=input_rejected', 'status=400',
     'details={"rule":"shop/search","field":"q","reason":"too long"}');
fill(1, 'details={"reason":"shadow","rule":"site/admin"}');
fill(3, 'details={"rule":"site/open"}');

wait_consumed(26);

$r = request('GET', $base, $token{auditor});
is($r->{status}, 200, 'auditor reads suggestions');
unlike($r->{content}, qr/\Q$secret\E/, 'no value of any request is shown');
unlike($r->{content}, qr/abcdefghijk|432|99999999/,
       'no argument value is shown');

$doc = decode($r);
ok($doc->{complete}, 'the scan saw every record');
# keryud's own changes (tokens, the policy) are in logs too
is($doc->{scanned}, 26 + 4, 'every record was scanned');
is($doc->{dropped}, 0, 'no group was dropped');

my %g = map { join(' ', @{$_}{qw(rule field path reason)}) => $_ }
        @{ $doc->{items} };

is(scalar @{ $doc->{items} }, 12, 'one group per rule, field, path, reason')
    or diag explain [ sort keys %g ];

is_deeply([ map { $_->{count} } @{ $doc->{items} } ],
          [ sort { $b <=> $a } map { $_->{count} } @{ $doc->{items} } ],
          'most hits first');

my $q = $g{'shop/search q /search too long'};
ok($q, 'too long: grouped') or BAIL_OUT('no group for q');
is($q->{count}, 3, 'too long: counted');
is($q->{first_seen}, '2027-01-15T08:00:00.000000Z', 'too long: first seen');
is($q->{last_seen}, '2027-01-15T08:05:00.000000Z', 'too long: last seen');
is_deeply($q->{observed}, { length => { min => 11, max => 23 } },
          'too long: the lengths observed');
is_deeply($q->{change}{patch},
          [ { op => 'replace', path => '/rules/0/args/q/maxLength',
              value => 23 } ], 'too long: raise maxLength to the longest');
is($q->{change}{policy}, 'shop', 'too long: the policy it edits');
is($q->{change}{rule}, 'search', 'too long: the rule it edits');
is($q->{change}{document}{rules}[0]{args}{q}{maxLength}, 23,
   'too long: the document carries the change');
ok(!exists $q->{change}{document}{created_at},
   'the document leaves the stamps to keryud');
is_deeply($q->{change}{document}{rules}[1], $shop{rules}[1],
          'the rest of the document is as stored');

my $page = $g{'shop/search page /search out of range'};
is($page->{count}, 4, 'out of range: counted from the "shadow" form');
is_deeply($page->{observed},
          { length => { min => 2, max => 25 }, above => { bound => 500 },
            below => { bound => -10 }, overflow => 1 },
          'out of range: bounds beyond the limits, and overflows');
is_deeply($page->{change}{patch},
          [ { op => 'replace', path => '/rules/0/args/page/max',
              value => 500 },
            { op => 'replace', path => '/rules/0/args/page/min',
              value => -10 } ], 'out of range: widen both bounds');
like($page->{note}, qr/64 bits/, 'out of range: overflows are noted');
is($page->{change}{document}{rules}[0]{args}{page}{min}, -10,
   'a negative bound stays a number');

my $order = $g{'shop/order id /orders/{id} out of range'};
is($order->{count}, 2, 'the path is the rule\'s template, from both forms');
is_deeply($order->{change}{patch},
          [ { op => 'replace', path => '/rules/1/segments/id/max',
              value => 5000 } ], 'a segment\'s bound');

my $m = $g{'shop/search method /search method not allowed'};
is_deeply($m->{observed}, { methods => ['PATCH'], other_methods => 1 },
          'methods: the standard ones by name, others counted');
is_deeply($m->{change}{patch},
          [ { op => 'add', path => '/rules/0/methods/-',
              value => 'PATCH' } ], 'methods: add the standard one');
is_deeply($m->{change}{document}{rules}[0]{methods}, ['GET', 'PATCH'],
          'methods: appended in the document');
like($m->{note}, qr/not proposed/, 'methods: the others are not proposed');

my $e = $g{'shop/search sort /search not an allowed value'};
is($e->{change}, undef, 'enum: no value is proposed');
like($e->{note}, qr/values are not recorded/, 'enum: says why');
is_deeply($e->{observed}, { length => { min => 6, max => 6 } },
          'enum: only the length is shown');

my $n = $g{'shop/search args /search too many arguments'};
is_deeply($n->{change}{patch},
          [ { op => 'replace', path => '/rules/0/max_args', value => 5 } ],
          'too many arguments: raise max_args');

my $req = $g{'shop/search ref /search missing'};
is_deeply($req->{change}{patch},
          [ { op => 'replace', path => '/rules/0/args/ref/required',
              value => $false } ], 'missing: not required');

my $u = $g{'shop/search args /search unknown argument'};
is_deeply($u->{change}{patch},
          [ { op => 'replace', path => '/rules/0/unknown_args',
              value => 'allow' } ], 'unknown argument: allow them');
like($u->{note}, qr/names are not recorded/, 'unknown argument: the cost');

my $short = $g{'shop/search name /search too short'};
is_deeply($short->{change}{patch},
          [ { op => 'replace', path => '/rules/0/args/name/minLength',
              value => 1 } ], 'too short: lower minLength');

my $uri = $g{'shop/short uri /short uri too long'};
is_deeply($uri->{change}{patch},
          [ { op => 'replace', path => '/rules/2/max_uri_length',
              value => 40 } ], 'uri too long: raise max_uri_length');

my $d = $g{'keryu_max_args args /users/{int}/files/{uuid} too many arguments'};
ok($d, 'ids in a path without a template are normalised')
    or diag explain [ sort keys %g ];
is($d->{count}, 3, 'directive: counted across ids');
is($d->{change}, undef, 'directive: no policy change');
is($d->{directive}, 'keryu_max_args 12;', 'directive: the setting to use');

my $gone = $g{'gone/rule q /gone too long'};
is($gone->{change}, undef, 'a rule no longer stored: no change');
like($gone->{note}, qr/not in the stored/, 'a rule no longer stored: noted');


# a proposed document is accepted by the policies API as it stands

$r = request('PUT', '/api/security/policies/shop/', $token{admin},
             $q->{change}{document});
is($r->{status}, 200, 'the proposed document is accepted by PUT');
is(decode($r)->{rules}[0]{args}{q}{maxLength}, 23, 'and stored');

$r = request('GET', $base, $token{admin});
my ($again) = grep { $_->{field} eq 'q' && $_->{rule} eq 'shop/search' }
              @{ decode($r)->{items} };
is($again->{change}{patch}[0]{op}, 'replace',
   'the next proposal works on the stored document');


# a later hit moves the proposal

hit(1, { reason => 'shadow', rule => 'shop/search', field => 'name',
         invalid => 'too short', length => 0 }, 'uri=/search?name=');
wait_consumed(27);
($short) = grep { $_->{field} eq 'name' && $_->{reason} eq 'too short' }
           @{ decode(request('GET', $base, $token{admin}))->{items} };
is($short->{change}{patch}[0]{value}, 0, 'too short: down to the shortest');


# filters

$r = request('GET', "$base?policy=shop", $token{admin});
is($r->{status}, 200, 'policy filter');
ok(!(grep { $_->{rule} !~ m{^shop/} } @{ decode($r)->{items} }),
   'policy filter: only that policy\'s rules');

$r = request('GET', "$base?min_count=3", $token{admin});
is_deeply([ sort map { $_->{count} } @{ decode($r)->{items} } ],
          [ 3, 3, 4 ], 'min_count leaves smaller groups out');

$r = request('GET', "$base?since=1800000100&until=1800000200",
             $token{admin});
my @items = @{ decode($r)->{items} };
is(scalar @items, 1, 'since and until: one group');
is($items[0]{count}, 1, 'since and until: one hit in the window');


# roles and errors

$r = request('GET', $base, $token{viewer});
is($r->{status}, 403, 'viewer may not read suggestions');
is_json($r, { error => 'forbidden' }, 'viewer: body');

$r = request('GET', $base);
is($r->{status}, 401, 'no token: 401');

$r = request('GET', '/api/security/policies/suggestions', $token{admin});
is($r->{status}, 200, 'without the trailing slash');

for my $case (
    [ 'bogus=1', 'unknown parameter', 'bogus' ],
    [ 'since=yesterday', 'invalid parameter', 'since' ],
    [ 'until=2026-13-01T00:00:00Z', 'invalid parameter', 'until' ],
    [ 'since=1800000200&until=1800000100', 'invalid parameter', 'until' ],
    [ 'min_count=0', 'invalid parameter', 'min_count' ],
    [ 'min_count=-1', 'invalid parameter', 'min_count' ],
    [ 'min_count=1&min_count=2', 'invalid parameter', 'min_count' ],
    [ 'policy=a/b', 'invalid parameter', 'policy' ],
    [ 'policy=', 'invalid parameter', 'policy' ],
    [ 'policy', 'invalid parameter', 'policy' ],
) {
    my ($qs, $error, $param) = @$case;
    $r = request('GET', "$base?$qs", $token{admin});
    is($r->{status}, 400, "$qs: 400");
    is_json($r, { error => $error, parameter => $param }, "$qs: body");
}

$r = request('GET', "$base?&", $token{admin});
is($r->{status}, 400, 'an empty parameter: 400');
is_json($r, { error => 'invalid query' }, 'an empty parameter: body');

$r = request('POST', $base, $token{admin}, {});
is($r->{status}, 405, 'POST: 405');


# a policy may still be called "suggestions"

$r = request('PUT', $base, $token{admin},
             { %shop, name => 'suggestions' });
is($r->{status}, 404, 'PUT of a policy called suggestions that is not stored');
$r = request('POST', '/api/security/policies/', $token{admin},
             { %shop, name => 'suggestions' });
is($r->{status}, 201, 'a policy called suggestions');
$r = request('PUT', $base, $token{admin},
             { %shop, name => 'suggestions', priority => 5 });
is($r->{status}, 200, 'PUT reaches it');
is(decode($r)->{priority}, 5, 'and replaces it');
$r = request('PUT', $base, $token{auditor},
             { %shop, name => 'suggestions' });
is($r->{status}, 403, 'an auditor may not replace it');
$r = request('DELETE', $base, $token{admin});
is($r->{status}, 204, 'DELETE reaches it');


# end to end: nginx with a shadow rule, keryud, a suggestion

SKIP: {
    skip "$nginx or $module not there", 6
        unless -x $nginx && -f $module;

    my %e2e = (
        name => 'e2e', policy_type => 'validation',
        rules => [ { id => 'note', path => '/e2e/{id}', shadow => $true,
                     segments => { id => { type => 'integer', max => 10 } },
                     args => { n => { type => 'string',
                                      maxLength => 4 } } } ],
    );

    $r = request('POST', '/api/security/policies/', $token{admin}, \%e2e);
    is($r->{status}, 201, 'e2e: the shadow rule is stored');

    my $np = free_port();
    my $module_abs = File::Spec->rel2abs($module);
    my $user = $> == 0 ? 'user root;' : '';
    mkdir "$dir/logs";
    write_file("$dir/nginx.conf", <<"EOF");
load_module $module_abs;
$user
worker_processes 1;
error_log $dir/logs/error.log info;
pid $dir/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    keryu_store $dir/store;
    server {
        listen 127.0.0.1:$np;
        keryu_log on;
        keryu_validate on;
        location / { stub_status; }
    }
}
EOF
    system($nginx, '-p', $dir, '-c', "$dir/nginx.conf") == 0
        or BAIL_OUT('nginx failed to start');

    my $http = HTTP::Tiny->new(timeout => 5);
    my $res;
    wait_until(sub {
        $res = $http->get("http://127.0.0.1:$np/e2e/7?n=$secret");
        return $res->{status} != 599;
    }, 'nginx answers');
    is($res->{status}, 200, 'e2e: the shadow rule refuses nothing');

    my $item;
    wait_until(sub {
        my $r = request('GET', "$base?policy=e2e", $token{admin});
        ($item) = grep { $_->{field} eq 'n' } @{ decode($r)->{items} };
        return $item;
    }, 'the hit reaches keryud');

    is($item->{path}, '/e2e/{id}', 'e2e: grouped under the template');
    is_deeply($item->{observed}, { length => { min => 15, max => 15 } },
              'e2e: the length the module recorded');
    is_deeply($item->{change}{patch},
              [ { op => 'replace', path => '/rules/0/args/n/maxLength',
                  value => 15 } ], 'e2e: the change proposed');
    unlike(request('GET', $base, $token{admin})->{content},
           qr/\Q$secret\E/, 'e2e: the value is not shown');

    my $npid = read_file("$dir/nginx.pid");
    chomp $npid;
    kill 'QUIT', $npid;
    wait_until(sub { !kill 0, $npid }, 'nginx stops');
}

is(stop_keryud($pid), 0, 'keryud stops cleanly');
unlike(read_file($log), qr/AddressSanitizer|runtime error/,
       'no sanitizer report');

done_testing();


sub fill {
    system($fill, "$dir/store", @_) == 0 or die "fill @_ failed";
}


sub wait_consumed {
    my ($n) = @_;
    wait_until(sub {
        my $r = request('GET', '/api/security/status/', $token{admin});
        return $r->{status} == 200
               && decode($r)->{keryud}{consumed} >= $n;
    }, "consumed $n");
}
