# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's side of the dashboard: the static files under /dashboard/ from
# dashboard_root (types, headers, the redirect, every way out of the
# directory refused, no token needed, a missing directory), whoami for
# each role, and POST /api/security/policies/validate/ placing the
# compiler's errors and storing nothing.  The pages themselves are tested
# in a browser by sidecar/dashboard/test/ (make test-dashboard).
#
#     prove t/api/dashboard-api.t
#     KERYUD=build-asan/keryud prove t/api/dashboard-api.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More;

use FindBin;
use lib $FindBin::Bin;
use ApiTest;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-dashboard-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = free_port();
my $conf = "$dir/keryud.conf";
my $log = "$dir/keryud.log";
my $root = "$dir/www";

mkdir $root or die;
mkdir "$root/sub" or die;
write_file("$root/index.html", "<!doctype html><p>index</p>\n");
write_file("$root/app.js", "console.log(1);\n");
write_file("$root/app.css", "p{}\n");
write_file("$root/sub/x.svg", "<svg/>\n");
write_file("$root/.secret.js", "hidden\n");
write_file("$root/notes.md", "no type\n");
write_file("$dir/outside.js", "outside\n");
symlink("$dir/outside.js", "$root/link.js") or die;
symlink("$dir", "$root/up") or die;
mkdir "$root/dir.js" or die;

sub conf_text {
    my ($dash) = @_;
    return "# dashboard-api.t\nstore $dir/store;\ndata $dir/data;\n"
           . "listen 127.0.0.1:$port;\npid_file $dir/keryud.pid;\n"
           . "dashboard_root $dash;\n";
}

write_file($conf, conf_text($root));

my %token;
keryud_use(port => $port, conf => $conf, log => $log, keryud => $keryud,
           token => \%token);

for my $role (qw(admin auditor viewer)) {
    chomp($token{$role} =
              `$keryud -c $conf token create --role $role --name $role-1`);
    is($? >> 8, 0, "token create $role");
}

my $pid = start_keryud();


# a request exactly as written, which HTTP::Tiny would normalise
sub raw {
    my ($line) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
        or die "connect: $!";
    print $s "$line\r\nHost: x\r\nConnection: close\r\n\r\n";
    local $/;
    my $r = <$s>;
    close $s;
    my ($status) = $r =~ m{^HTTP/1\.\d (\d+)};
    my ($body) = $r =~ /\r\n\r\n(.*)\z/s;
    return ($status, $body, $r);
}


# files, without a token

my $r = request('GET', '/dashboard/');
is($r->{status}, 200, 'index without a token');
is($r->{content}, "<!doctype html><p>index</p>\n", 'index.html');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', 'html type');
like($r->{headers}{'content-security-policy'},
     qr/^default-src 'self'; script-src 'self'; style-src 'self';.*frame-ancestors 'none'$/,
     'content security policy');
unlike($r->{headers}{'content-security-policy'}, qr/unsafe/,
       'nothing unsafe allowed');
is($r->{headers}{'x-content-type-options'}, 'nosniff', 'nosniff');
is($r->{headers}{'x-frame-options'}, 'DENY', 'no framing');
is($r->{headers}{'referrer-policy'}, 'no-referrer', 'no referrer');

is(request('GET', '/dashboard/index.html')->{content},
   "<!doctype html><p>index</p>\n", 'index.html by name');

for ([ 'app.js', 'text/javascript; charset=utf-8', "console.log(1);\n" ],
     [ 'app.css', 'text/css; charset=utf-8', "p{}\n" ],
     [ 'sub/x.svg', 'image/svg+xml', "<svg/>\n" ])
{
    my ($f, $type, $body) = @$_;
    $r = request('GET', "/dashboard/$f");
    is($r->{status}, 200, "$f served");
    is($r->{headers}{'content-type'}, $type, "$f type");
    is($r->{content}, $body, "$f content");
}

my ($status, $body, $all) = raw('HEAD /dashboard/app.js HTTP/1.1');
is($status, 200, 'HEAD');
is($body, '', 'HEAD has no body');
like($all, qr/\r\nContent-Length: 16\r\n/i, 'HEAD gives the length');

($status, undef, $all) = raw('GET /dashboard HTTP/1.1');
is($status, 301, '/dashboard redirects');
like($all, qr{\r\nLocation: /dashboard/\r\n}, 'to /dashboard/');

for my $p ('/dashboard/../keryud.conf', '/dashboard/../../../etc/passwd',
           '/dashboard/%2e%2e/keryud.conf', '/dashboard/sub/../app.js',
           '/dashboard/./app.js', '/dashboard//app.js',
           '/dashboard/.secret.js', '/dashboard/link.js',
           '/dashboard/up/outside.js', '/dashboard/dir.js',
           '/dashboard/notes.md', '/dashboard/missing.js',
           '/dashboard/sub/', '/dashboard/app.js/', '/dashboard/a%00.js',
           '/dashboard/' . ('a' x 300) . '.js')
{
    ($status, $body) = raw("GET $p HTTP/1.1");
    is($status, 404, "$p refused");
    is($body, '{"error":"not found"}', "$p: JSON body");
}

($status, $body) = raw('GET /dashboard/app.js?x=1 HTTP/1.1');
is($status, 200, 'a query string is ignored');

for my $m (qw(POST PUT DELETE)) {
    ($status, $body, $all) = raw("$m /dashboard/ HTTP/1.1");
    is($status, 405, "$m refused");
    like($all, qr/\r\nAllow: GET, HEAD\r\n/, "$m: Allow");
}

is(request('GET', '/dashboardx/')->{status}, 401,
   'a neighbouring path is the API\'s, token first');
is(request('GET', '/api/security/status/')->{status}, 401,
   'the API still needs a token');


# whoami

for my $role (qw(admin auditor viewer)) {
    is_json(request('GET', '/api/security/whoami/', $token{$role}),
            { name => "$role-1", role => $role }, "whoami $role");
}

is(request('GET', '/api/security/whoami/')->{status}, 401,
   'whoami needs a token');
is(request('POST', '/api/security/whoami/', $token{admin}, {})->{status},
   405, 'whoami is GET only');


# tokens

my $t = '/api/security/tokens/';

my @names = sort map { "$_->{name} $_->{role}" }
                @{ decode(request('GET', $t, $token{auditor}))->{items} };
is_deeply(\@names, [ 'admin-1 admin', 'auditor-1 auditor', 'viewer-1 viewer' ],
          'auditors list the tokens');
is(scalar @{ decode(request('GET', $t, $token{admin}))->{items} }, 3,
   'three tokens');
is(request('GET', $t, $token{viewer})->{status}, 403,
   'viewers may not list tokens');

for my $role (qw(auditor viewer)) {
    is(request('POST', $t, $token{$role}, { role => 'admin' })->{status},
       403, "$role may not make a token");
    is(request('DELETE', "${t}admin-1/", $token{$role})->{status}, 403,
       "$role may not revoke one");
}

$r = request('POST', $t, $token{admin},
             { role => 'viewer', name => 'wall', expires => '30d' });
is($r->{status}, 201, 'a token made');
my $made = decode($r);
like($made->{token}, qr/^kry_[A-Za-z0-9_-]{43}\z/, 'shown once');
is_deeply([ @$made{qw(name role)} ], [ 'wall', 'viewer' ], 'its name, role');
like($made->{expires_at}, qr/^\d{4}-/, 'and expiry');
is_json(request('GET', '/api/security/whoami/', $made->{token}),
        { name => 'wall', role => 'viewer' }, 'and it works');

my ($wall) = grep { $_->{name} eq 'wall' }
                 @{ decode(request('GET', $t, $token{admin}))->{items} };
ok($wall && !exists $wall->{token}, 'the list shows no token');
is($wall->{expired}, JSON::PP::false, 'not expired');

is_json(request('POST', $t, $token{admin}, { role => 'viewer',
                                             name => 'wall' }),
        { error => 'token exists', field => 'name' }, 'a name taken');
is(request('POST', $t, $token{admin}, { role => 'viewer',
                                        name => 'wall' })->{status}, 409,
   'answered 409');

for ([ { name => 'x' }, 'missing field', 'role' ],
     [ { role => 'root' }, 'invalid field', 'role' ],
     [ { role => 'viewer', name => 'a b' }, 'invalid field', 'name' ],
     [ { role => 'viewer', expires => 'soon' }, 'invalid field', 'expires' ],
     [ { role => 'viewer', colour => 'red' }, 'invalid field', 'colour' ])
{
    my ($b, $err, $f) = @$_;
    is_json(request('POST', $t, $token{admin}, $b),
            { error => $err, field => $f }, "$err $f");
}

is_json(request('POST', $t, $token{admin}, '[1]'),
        { error => 'invalid body' }, 'not an object');

$r = request('POST', $t, $token{admin}, { role => 'auditor' });
like(decode($r)->{name}, qr/^auditor-[0-9a-f]{8}\z/, 'a name made up');

is(request('DELETE', "${t}wall/", $token{admin})->{status}, 204,
   'revoked');
is(request('GET', '/api/security/whoami/', $made->{token})->{status}, 401,
   'and refused');
is(request('DELETE', "${t}wall/", $token{admin})->{status}, 404,
   'revoked once');

my $ch = decode(request('GET', '/api/security/events/?event_type=system_change',
                        $token{admin}));
my @acts = map { $_->{details}{action} // '' } @{ $ch->{items} };
ok((grep { $_ eq 'token.create' } @acts)
   && (grep { $_ eq 'token.revoke' } @acts), 'changes recorded')
    or diag explain \@acts;
unlike(JSON::PP->new->encode($ch), qr/\Q$made->{token}\E/,
       'without the token');


# validation

my $v = '/api/security/policies/validate/';

sub validate {
    my ($doc) = @_;
    my $r = request('POST', $v, $token{admin}, $doc);
    is($r->{status}, 200, 'validate answers 200');
    return decode($r);
}

is_deeply(validate('{"name":"ok","policy_type":"access","rules":'
                   . '[{"id":"a","path":"/","effect":"allow","anyone":true}]}'),
          { valid => JSON::PP::true, name => 'ok' }, 'a good policy');

is_deeply(decode(request('GET', '/api/security/policies/', $token{admin}))
              ->{items}[-1]{name}, 'scanning', 'and nothing stored');

my $doc = qq({"name": "x",\n  "policy_type": }\n);
is_deeply(validate($doc),
          { valid => JSON::PP::false, offset => index($doc, '}'), line => 2,
            column => 18,
            error => 'invalid JSON: parse error: unallowed token at this '
                     . 'point in JSON text' },
          'a syntax error at its token');

$doc = qq({"name": "x", "policy_type": "access", "rules": [\n);
my $e = validate($doc);
is_deeply([ @$e{qw(offset line column)} ], [ length $doc, 2, 1 ],
          'text that stops early: its end');

$doc = qq({"name":"x","policy_type":"access","rules":[\n)
       . qq({"id":"a","path":"/","effect":"allow","anyone":true},\n)
       . qq(  {"path":"/b","effect":"deny"}]});
$e = validate($doc);
is($e->{error}, 'policy "x": rule 2: "id" is required', 'missing field');
is_deeply([ @$e{qw(offset line column)} ], [ index($doc, '  {') + 2, 3, 3 ],
          'at the rule it names');

$doc = qq({"name":"x","policy_type":"access","rules":[{"id":"a",)
       . qq("path":"/","effect":"allow","anyone":true,\n"colour":"r"}]});
$e = validate($doc);
like($e->{error}, qr/unknown field "colour"/, 'unknown field');
is_deeply([ @$e{qw(offset line column)} ], [ index($doc, '"colour"'), 2, 1 ],
          'at the field');

$doc = qq({"name":"x","policy_type":"nonsense"});
$e = validate($doc);
ok(!$e->{valid}, 'a bad value is invalid');
is($e->{offset}, index($doc, 'nonsense') - 1, 'at the value it quotes')
    if $e->{error} =~ /"nonsense"/;

$e = validate('');
ok(!$e->{valid}, 'an empty body is invalid');

$doc = qq({"name":"ä","x":);
$e = validate($doc);
is($e->{column}, 17, 'columns count characters, not bytes');

is(request('POST', $v, $token{auditor}, '{}')->{status}, 403,
   'auditors may not validate');
is(request('POST', $v, $token{viewer}, '{}')->{status}, 403,
   'viewers may not validate');
is(request('GET', $v, $token{admin})->{status}, 405, 'validate is POST only');


# a dashboard_root that is not there: keryud runs, the dashboard is off

is(stop_keryud($pid), 0, 'keryud stops');
write_file($conf, conf_text("$dir/none"));
$pid = start_keryud();
$r = request('GET', '/dashboard/');
is($r->{status}, 404, 'no directory: 404');
is($r->{content}, '{"error":"dashboard not installed"}', 'saying why');
like(read_file($log), qr/dashboard: open\(\) "\Q$dir\E\/none" failed/,
     'logged at startup');
is(stop_keryud($pid), 0, 'keryud stops');

done_testing();
