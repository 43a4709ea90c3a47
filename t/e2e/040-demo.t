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

done_testing();
