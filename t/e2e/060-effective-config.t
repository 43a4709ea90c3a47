# The configuration nginx runs, as the module publishes it in the store
# for keryud's compliance checks: servers, listening sockets, TLS
# protocols and ciphers, and what each location enforces; a reload
# publishes the new one.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use JSON::PP;
use Test::More;
use KeryuTest;

my $true = JSON::PP::true;
my $false = JSON::PP::false;

my $dir = scratch();
my $port = free_port();
my $tls = free_port();

system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
       . "-nodes -subj /CN=localhost -days 1 -keyout $dir/key.pem "
       . "-out $dir/cert.pem 2>/dev/null") == 0 or die 'openssl failed';

sub config {
    my ($tokens) = @_;

    # the second server closes the first one; the template closes it
    my $server = <<"EOF";
        location /api/ { keryu_access on; keryu_default allow;
                         keryu_identity bearer cookie=sid apikey=X-Key;
                         client_max_body_size 2m; }
        location = /login { keryu_access shadow; keryu_fail open; }
        location ~ \\.php\$ { return 404; }
    }

    server {
        listen 127.0.0.1:$tls ssl;
        server_name secure.example "quote\\"d";
        ssl_certificate $dir/cert.pem;
        ssl_certificate_key $dir/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers HIGH:!aNULL;
        location / { return 200; }
EOF

    return (port => $port, http => "server_tokens $tokens;",
            server => $server);
}

sub published {
    my $m = ring_meta("$dir/store");
    return $m->{effective_config} ? decode_json($m->{effective_config})
                                  : undef;
}

start_nginx($dir, config('off'));

my $doc = wait_until(5, \&published);
ok($doc, 'the configuration is published');

like($doc->{nginx_version}, qr/^1\.\d+\.\d+$/, 'nginx version');
is(scalar @{ $doc->{servers} }, 2, 'both servers');

my ($plain, $secure) = @{ $doc->{servers} };

is_deeply($plain->{listen}, [ { address => "127.0.0.1:$port", ssl => $false } ],
          'plain listen socket');
is($plain->{ssl}, undef, 'no TLS on it');
is($plain->{server_tokens}, 'off', 'server_tokens');

my %loc = map { $_->{name} => $_ } @{ $plain->{locations} };

is_deeply([ @{ $loc{'/api/'} }{qw(match enforce log default fail)} ],
          [ 'prefix', 'on', $true, 'allow', 'closed' ], '/api/ enforces');
is_deeply($loc{'/api/'}{identity}, [qw(bearer cookie apikey)],
          '/api/ identity sources');
is($loc{'/api/'}{client_max_body_size}, 2 * 1024 * 1024, 'body limit');
is($loc{'/api/'}{seal}, 'auto', 'sealing follows the published key');
is_deeply([ @{ $loc{'/login'} }{qw(match enforce fail)} ],
          [ 'exact', 'shadow', 'open' ], '/login in shadow, failing open');
is($loc{'\.php$'}{match}, 'regex', 'regex location');
is($loc{'\.php$'}{enforce}, 'off', 'not enforcing');
is($loc{''}{match}, 'server', 'the server level itself');

is_deeply($secure->{names}, [ 'secure.example', 'quote"d' ], 'server names');
is_deeply($secure->{listen}, [ { address => "127.0.0.1:$tls", ssl => $true } ],
          'TLS listen socket');
is_deeply($secure->{ssl}, { protocols => [ 'TLSv1.2', 'TLSv1.3' ],
                            ciphers => 'HIGH:!aNULL' }, 'TLS settings');


# a reload publishes what the new workers run

write_nginx_conf($dir, config('on'));
kill 'HUP', read_pid("$dir/nginx.pid");

ok(wait_until(10, sub {
    my $d = published();
    $d && $d->{servers}[0]{server_tokens} eq 'on';
}), 'a reload publishes the new configuration');

stop_nginx($dir);

done_testing();
