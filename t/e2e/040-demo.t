# The demo that "make run" starts: the app behind nginx with the module,
# keryud beside them, and the protections the README promises.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use HTTP::Tiny;
use JSON::PP;
use Test::More;
use KeryuTest;

my $top = $KeryuTest::Top;

for my $port (8080, 8081, 8090) {
    my $r = HTTP::Tiny->new(timeout => 1)->get("http://127.0.0.1:$port/");
    if ($r->{status} != 599) {
        plan skip_all => "127.0.0.1:$port is in use (is the demo running?)";
    }
}

system("sh $top/conf/demo.sh start > /dev/null") == 0
    or BAIL_OUT('the demo did not start');

END { system("sh $top/conf/demo.sh stop") if $top }

my $ua = HTTP::Tiny->new(timeout => 5);

sub login {
    my ($user, $pass) = @_;
    return $ua->post_form('http://127.0.0.1:8080/login',
                          { username => $user, password => $pass });
}

sub get {
    my ($path, $token) = @_;
    return $ua->get("http://127.0.0.1:8080$path",
                    { headers => $token
                                 ? { Authorization => "Bearer $token" }
                                 : {} })->{status};
}

my $r = login('alice', 'alice-pass');
is($r->{status}, 200, 'alice logs in');
ok(!exists $r->{headers}{'x-keryu-user'}, 'the app\'s user header is hidden');
my $alice = decode_json($r->{content})->{token};

my $carol = decode_json(login('carol', 'carol-pass')->{content})->{token};

is(get('/api/orders/1'), 401, 'the API needs a token');
is(get('/api/orders/1', $alice), 200, 'alice reads her order');
is(get('/api/orders/2', $alice), 403, 'but not bob\'s');
is(get('/admin/', $alice), 403, 'the admin area refuses a user');
is(get('/admin/', $carol), 200, 'and admits an admin');
is(get('/api/orders/2', 'e30.e30.e30'), 401, 'a forged token is refused');

is(login('bob', 'wrong')->{status}, 401, 'a failed login');

open my $fh, '<', "$top/run/admin-token" or die $!;
my $admin = <$fh>;
chomp $admin;
is((stat "$top/run/admin-token")[2] & 0777, 0600, 'admin token is 0600');

my ($status, $body);
my $found = wait_until(5, sub {
    ($status, $body) = api(8081, $admin,
                           '/api/security/events/?event_type=auth_failure'
                           . '&user=bob');
    $status == 200 && @{ $body->{items} };
});
ok($found, 'the failed login is an auth_failure event for bob');
is($found && $body->{items}[0]{uri}, '/login', 'on the login location');

($status, $body) = api(8081, $admin,
                       '/api/security/events/?event_type=permission_denied'
                       . '&user=alice');
my %uris = map { $_->{uri} => 1 } @{ $body->{items} || [] };
ok($uris{'/api/orders/2'} && $uris{'/admin/'},
   'alice\'s refusals are permission_denied events');

($status, $body) = api(8081, $admin,
                       '/api/security/events/?event_type=login&user=alice');
is(scalar @{ $body->{items} || [] } >= 1, 1, 'alice\'s login is an event');


# the alert flow; it blocks this host, so it comes last

sub admin_request {
    my ($method, $path, $json) = @_;
    return $ua->request($method, "http://127.0.0.1:8081$path", {
        headers => { Authorization => "Bearer $admin",
                     $json ? ('Content-Type' => 'application/json') : () },
        $json ? (content => encode_json($json)) : () });
}

my $alerts = '/api/security/alerts/?rule=brute-force/auth-failures'
             . '&key=127.0.0.1';

# the app's receiver is for keryud only: nginx answers /hooks/ itself
# (while this host can still reach anything)

# the app's log lines for /hooks/ other than keryud's signed deliveries
sub app_hook_requests {
    open my $log, '<', "$top/run/logs/app.log" or return 0;
    return scalar grep { m{"[A-Z]+ /+hooks(?!/keryu HTTP/1\.1" 204 )} }
                  <$log>;
}

my $seen = app_hook_requests();

for my $req (['GET', '/hooks/keryu'], ['POST', '/hooks/keryu'],
             ['GET', '//hooks/keryu'], ['POST', '/hooks%2Fkeryu'])
{
    my ($method, $path) = @$req;
    my $res = $ua->request($method, "http://127.0.0.1:8080$path", {
        $method eq 'POST' ? (content => '{"event":"alert.opened"}') : () });
    is($res->{status}, 404, "$method $path through nginx: 404");
    like($res->{headers}{'content-type'} // '', qr{^text/html},
         "$method $path: nginx's own page, not the app's");
}

is(app_hook_requests(), $seen, 'no request for /hooks/ reached the app');

# alerts left open by an earlier run would take this run's failures as an
# update; resolving them makes the next hit open a new alert

($status, $body) = api(8081, $admin, $alerts);
is($status, 200, 'the brute-force alerts of this host');
for my $old (grep { $_->{status} ne 'resolved' } @{ $body->{items} || [] }) {
    is(admin_request('PUT', "/api/security/alerts/$old->{id}/",
                     { status => 'resolved' })->{status},
       200, "an earlier run's alert $old->{id} is resolved");
}

# ten auth_failure events from one address within 60s make a hit; the
# refusals above already count, so fewer logins may do

sub open_alert {
    my ($code, $list) = api(8081, $admin, "$alerts&status=open");
    return $code == 200 ? $list->{items}[0] : undef;
}

my @codes;
for (1 .. 12) {
    push @codes, login('bob', 'wrong')->{status};
    last if $codes[-1] != 401 || open_alert();
}
is(join(',', grep { $_ != 401 } @codes[0 .. $#codes - 1]), '',
   scalar(@codes) . ' failed logins, each a 401 before the block');

my $alert = wait_until(10, sub {
    my $open = open_alert();
    $open && $open->{block} ? $open : undef;
});
ok($alert, 'an open brute-force alert with a block');
is_deeply([ map { $alert && $alert->{$_} }
            qw(status key key_type severity count) ],
          [ 'open', '127.0.0.1', 'ip', 'high', 10 ],
          'for 127.0.0.1, high, count 10');
is($alert && $alert->{block}{target}, '127.0.0.1', 'the block is of 127.0.0.1');
ok($alert && $alert->{block}{duration_s} >= 900, 'for 15 minutes or more');

$r = wait_until(10, sub {
    my $res = $ua->get('http://127.0.0.1:8080/');
    $res->{status} == 403 ? $res : undef;
});
is($r && $r->{status}, 403, 'this host is refused by nginx');
is($r && $r->{content},
   qq({"error":"forbidden","reason":"blocked address"}\n),
   'as a blocked address');

# keryud posts the alert, signed, to the app; the app keeps what verified

my $delivery = wait_until(10, sub {
    my $res = HTTP::Tiny->new(timeout => 5)
                  ->get('http://127.0.0.1:8090/hooks/keryu');
    my $doc = $res->{status} == 200
              ? eval { decode_json($res->{content}) } || {} : {};
    my ($d) = grep { $_->{event} eq 'alert.opened'
                     && $_->{alert}{id} == ($alert ? $alert->{id} : -1) }
                   @{ $doc->{deliveries} || [] };
    return $d;
});
ok($delivery, 'the app received alert.opened for the alert');
like($delivery && $delivery->{delivery}, qr/^[0-9a-f-]{36}$/,
     'under keryud\'s delivery id');
is_deeply([ map { $delivery && $delivery->{alert}{$_} } qw(key count) ],
          [ '127.0.0.1', 10 ], 'with the alert\'s key and count');

my $line = $alert ? "webhook alert.opened: alert $alert->{id} "
                    . 'brute-force/auth-failures, ip 127.0.0.1, count 10'
                  : 'no alert';
like(`cat $top/run/logs/app.log`, qr/\Q$line\E/, 'the app logs the alert');

# lifting the block lets this host in again, without a reload

is(admin_request('DELETE', '/api/security/decisions/?ip=127.0.0.1')
       ->{status}, 204, 'the block is deleted');
ok(wait_until(5, sub { get('/') == 200 }), 'this host is let in again');
is($alert && admin_request('PUT', "/api/security/alerts/$alert->{id}/",
                           { status => 'resolved' })->{status},
   200, 'the alert is resolved');

done_testing();
