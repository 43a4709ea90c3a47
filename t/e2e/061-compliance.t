# vim:set ft=perl ts=4 sw=4 et:
#
# Compliance over what nginx really runs with: the module publishes its
# effective configuration, keryud's GET /api/security/compliance/ judges
# it (a shadow-mode sign-in, server_tokens on, the workers reporting what
# they enforce), and a reload that repairs the configuration turns the
# control to pass without restarting keryud.

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;

use Test::More;
use KeryuTest;

my $dir = scratch();
my $port = free_port();
my $api = free_port();

sub config {
    my ($tokens) = @_;
    return (port => $port, http => "server_tokens $tokens;",
            server => <<'EOF');
        location /admin/ { keryu_access on; keryu_default deny;
                           keryu_identity bearer; keryu_fail closed; }
        location /login { keryu_access shadow; keryu_identity bearer; }
EOF
}

start_nginx($dir, config('on'));
start_keryud($dir, $api);
my $token = keryud_token($dir, 'auditor');

sub compliance {
    my ($status, $doc) = api($api, $token, '/api/security/compliance/');
    return undef unless $status == 200;
    return { doc => $doc, map { $_->{id} => $_ } @{ $doc->{controls} } };
}

my $c = wait_until(10, sub {
    my $c = compliance();
    $c && $c->{doc}{evidence}{effective_config} ? $c : undef;
});
ok($c, 'keryud reads the configuration nginx published') or BAIL_OUT('none');

my ($version) = `$KeryuTest::Nginx -v 2>&1` =~ m{nginx/(\d+\.\d+\.\d+)};
is($c->{doc}{evidence}{nginx_version}, $version, 'the running version');
is($c->{'evidence-published'}{status}, 'pass', 'evidence-published passes');

is($c->{'server-tokens'}{status}, 'fail', 'server_tokens on fails');
like($c->{'server-tokens'}{remediation}, qr/server_tokens off/,
     'and says what to set');

is($c->{'access-enforced'}{status}, 'fail', 'a sign-in in shadow mode fails');
# "/" also serves /api, /account and the rest that no location of their
# own takes
is_deeply([sort map { "$_->{location} $_->{enforce}" }
           @{ $c->{'access-enforced'}{evidence}{offending} }],
          ['/ off', '/login shadow'], 'naming the locations and their mode')
    or diag explain $c->{'access-enforced'};

# keryud stores its default policies as it starts; the workers take them
# on their next request
$c = wait_until(10, sub {
    http($port, 'GET', '/admin/');
    my $c = compliance();
    $c && $c->{'enforcement-current'}{status} eq 'pass' ? $c : undef;
});
ok($c, 'the workers enforce the current policies');
ok($c && $c->{'enforcement-current'}{evidence}{workers} >= 1,
   'a worker reported');

# repaired by a reload
write_nginx_conf($dir, config('off'));
kill 'HUP', read_pid("$dir/nginx.pid");

ok(wait_until(10, sub {
    my $c = compliance();
    $c && $c->{'server-tokens'}{status} eq 'pass';
}), 'server-tokens passes after the reload');

stop_nginx($dir);

done_testing();
