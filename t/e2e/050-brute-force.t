# Brute force detection end to end: failed logins through nginx reach
# keryud, which blocks the client in the shared store, and nginx refuses
# the client's next request without a reload.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin, "$FindBin::Bin/../lib";

use JSON::PP;
use Test::More;
use KeryuTest;
use KeryuFixture;


my $true = JSON::PP::true;

my $store = make_store(policies => [
    { name => 'open', policy_type => 'access',
      rules => [ { id => 'p', path => '/p/', match => 'prefix',
                   effect => 'allow', anyone => $true } ] } ]);
(my $dir = $store) =~ s{/store$}{};
my $port = free_port();
my $api = free_port();
mkdir "$dir/logs";

start_nginx($dir, port => $port,
            server => 'location /p/ { keryu_access on; stub_status; }
                       location /login { keryu_event login; return 401; }');

# keryud's own configuration, replacing the one make_store wrote
open my $fh, '>', "$dir/keryud.conf" or die $!;
print $fh "store $dir/store;\n", "data $dir/keryud-data;\n",
          "listen 127.0.0.1:$api;\n", "pid_file $dir/keryud.pid;\n",
          "poll_interval 20ms;\n", "brute_force 5 60s 15m;\n";
close $fh;

my $kd = start_keryud($dir, $api);

is(http($port, 'GET', '/p/x')->{status}, 200, 'allowed before any failure');

my @status = map { http($port, 'POST', '/login')->{status} } 1 .. 5;
is(join(',', @status), '401,401,401,401,401', 'five failed logins');

my $r = wait_until(10, sub {
    my $res = http($port, 'GET', '/p/x');
    $res->{status} == 403 ? $res : undef;
});
is($r && $r->{status}, 403, 'the client is blocked');
is($r && $r->{content},
   qq({"error":"forbidden","reason":"blocked address"}\n),
   'as a blocked address');

my $list = store_cli($store, 'block', 'list');
my $reason = 'brute force: 5 auth failures in 60 s';
like($list, qr{^ip\s+127\.0\.0\.1/32\s+\S+\s+\Q$reason\E$}m,
     'block list shows the block and its reason');

my $log = wait_until(5, sub {
    my $text = `cat $dir/logs/keryud.log`;
    $text =~ /alert brute_force/ ? $text : '';
});
my $alert = 'alert brute_force: client 127.0.0.1, count 5, blocked for 900 s';
like($log, qr/\Q$alert\E/, 'keryud logs the alert');
is(scalar(() = $log =~ /alert brute_force/g), 1, 'only once');

is(stop_keryud($kd, 'TERM'), 0, 'keryud stops on TERM');
stop_nginx($dir);

done_testing();
