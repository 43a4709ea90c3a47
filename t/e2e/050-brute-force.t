# Brute force end to end: failed logins through nginx reach keryud, whose
# threshold policy opens an alert, blocks the client in the shared store,
# and posts the alert to a webhook; nginx refuses the client's next
# request without a reload.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin, "$FindBin::Bin/../lib";

use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;
use KeryuTest;
use KeryuFixture;


my $true = JSON::PP::true;

my $store = make_store(policies => [
    { name => 'open', policy_type => 'access',
      rules => [ { id => 'p', path => '/p/', match => 'prefix',
                   effect => 'allow', anyone => $true } ] },
    { name => 'brute-force', policy_type => 'threshold',
      rules => [ { id => 'auth-failures', types => ['auth_failure'],
                   group_by => 'ip', count => 5, window => '60s',
                   severity => 'high', action => 'block',
                   duration => '15m' } ] } ]);
(my $dir = $store) =~ s{/store$}{};
my $port = free_port();
my $api = free_port();
my $hook = free_port();
mkdir "$dir/logs";


# the webhook receiver: answers 500 to the first delivery, so that keryud
# has to retry, and 200 after; each request goes to its own file

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $hook, Listen => 8,
                                   ReuseAddr => 1, Proto => 'tcp')
    or die "listen: $!";

my $receiver = fork // die "fork: $!";

if ($receiver == 0) {
    my $n = 0;
    while (my $c = $listen->accept) {
        my $head = '';
        while (defined(my $line = <$c>)) {
            $head .= $line;
            last if $line eq "\r\n";
        }
        my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
        my $body = '';
        read($c, $body, $len // 0);
        $n++;
        open my $fh, '>', "$dir/hook.$n" or die;
        print $fh $head, $body;
        close $fh;
        my $code = $n == 1 ? '500 Internal Server Error' : '200 OK';
        print $c "HTTP/1.1 $code\r\nContent-Length: 0\r\n"
                 . "Connection: close\r\n\r\n";
        close $c;
    }
    POSIX::_exit(0);
}

close $listen;

my $secret = 'e2e-webhook-secret-0123456789';
open my $sf, '>', "$dir/hook.secret" or die $!;
print $sf $secret;
close $sf;
chmod 0600, "$dir/hook.secret";

start_nginx($dir, port => $port,
            server => 'location /p/ { keryu_access on; stub_status; }
                       location /login { keryu_event login; return 401; }');

# keryud's own configuration, replacing the one make_store wrote
open my $fh, '>', "$dir/keryud.conf" or die $!;
print $fh "store $dir/store;\n", "data $dir/keryud-data;\n",
          "listen 127.0.0.1:$api;\n", "pid_file $dir/keryud.pid;\n",
          "poll_interval 20ms;\n", "default_policies off;\n",
          "webhook http://127.0.0.1:$hook/alerts;\n",
          "webhook_secret $dir/hook.secret;\n";
close $fh;

my $token = keryud_token($dir, 'viewer');
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


# the alert

my ($code, $body) = api($api, $token,
                        '/api/security/alerts/?rule=brute-force/auth-failures');
is($code, 200, 'viewer reads the alerts');
my $alert = $body->{items}[0];
is(scalar @{ $body->{items} }, 1, 'one alert');
is_deeply([ @$alert{qw(severity status key key_type count)} ],
          [ 'high', 'open', '127.0.0.1', 'ip', 5 ], 'alert fields');
is_deeply([ @{ $alert->{block} }{qw(target duration_s offences)} ],
          [ '127.0.0.1', 900, 1 ], 'block in the alert');

my (undef, $logs) = api($api, $token,
                        '/api/security/events/?event_type=auth_failure');
is_deeply([ sort { $a <=> $b } @{ $alert->{samples} } ],
          [ sort { $a <=> $b } map { $_->{id} } @{ $logs->{items} } ],
          'the alert samples the five failures');

my $list = store_cli($store, 'block', 'list');
like($list,
     qr{^ip\s+127\.0\.0\.1/32\s+\S+\s+brute-force/auth-failures, alert $alert->{id}$}m,
     'block list shows the block and the alert behind it');

my $log = wait_until(5, sub {
    my $text = `cat $dir/logs/keryud.log`;
    $text =~ /alert \d+ brute-force/ ? $text : '';
});
my $line = "alert $alert->{id} brute-force/auth-failures: ip 127.0.0.1, "
           . 'count 5, blocked 127.0.0.1 for 900 s';
like($log, qr/\Q$line\E/, 'keryud logs the alert');
is(scalar(() = $log =~ /alert \d+ brute-force/g), 1, 'only once');


# the webhook: refused once, then delivered, signed

ok(wait_until(15, sub { -s "$dir/hook.2" }), 'webhook retried and delivered');

for my $n (1, 2) {
    my $text = do { local (@ARGV, $/) = "$dir/hook.$n"; <> };
    my ($head, $payload) = split /\r\n\r\n/, $text, 2;

    like($head, qr{^POST /alerts HTTP/1\.1\r$}m, "delivery $n: POST");
    like($head, qr{^X-Keryu-Event: alert\.opened\r$}mi,
         "delivery $n: event header");

    my ($ts) = $head =~ /^X-Keryu-Timestamp: (\d+)\r$/mi;
    my ($sig) = $head =~ /^X-Keryu-Signature: (\S+)\r$/mi;
    ok($ts && abs($ts - time) < 120, "delivery $n: timestamp");
    is($sig, 'sha256=' . hmac_sha256_hex("$ts.$payload", $secret),
       "delivery $n: signature verifies");

    my $doc = decode_json($payload);
    is($doc->{event}, 'alert.opened', "delivery $n: event");
    is($doc->{alert}{id}, $alert->{id}, "delivery $n: the alert");
    is($doc->{alert}{key}, '127.0.0.1', "delivery $n: its key");
}

my ($d1) = `cat $dir/hook.1` =~ /^X-Keryu-Delivery: (\S+)\r$/mi;
my ($d2) = `cat $dir/hook.2` =~ /^X-Keryu-Delivery: (\S+)\r$/mi;
is($d1, $d2, 'a retry keeps the delivery id');
ok(!-e "$dir/hook.3", 'delivered once');

is(stop_keryud($kd, 'TERM'), 0, 'keryud stops on TERM');
stop_nginx($dir);

unlike(`cat $dir/logs/keryud.log`, qr/Sanitizer|runtime error/,
       'no sanitizer reports from keryud');

kill 'TERM', $receiver;
waitpid $receiver, 0;

done_testing();
