# vim:set ft=perl ts=4 sw=4 et:
#
# Copyright (C) Keryu Security
#
# keryud's policy subcommands against a temporary shared store: apply the
# demo policies, list, show, apply again (an update keeps created_at),
# refuse broken files with nothing written, delete.  config_version must
# rise with every change and only then; it is read with mdb_dump when
# lmdb-utils is installed.
#
# Run from the top of the tree after "make build/keryud":
#
#     prove t/api/policy-cli.t
#     KERYUD=build-asan/keryud prove t/api/policy-cli.t

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

my $keryud = $ENV{KERYUD} // 'build/keryud';

plan skip_all => "$keryud not built" unless -x $keryud;

my $dir = tempdir('keryud-policy-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $conf = "$dir/keryud.conf";
my $have_dump = system('mdb_dump -V >/dev/null 2>&1') == 0;

write_file($conf, "store $dir/store;\ndata $dir/data;\n");


# an empty store

my ($rc, $out, $err) = policy('list');
is($rc, 0, 'list of an empty store');
is($out, "NAME                             TYPE      ACTIVE SHADOW RULES  "
         . "UPDATED\n", 'empty list has the header only');


# apply the demo file

($rc, $out, $err) = policy('apply', 'conf/policies/demo.json');
is($rc, 0, 'demo policies apply') or diag($err);
is($out, "policy demo-ip: created\npolicy demo-access: created\n"
         . "policy demo-validation: created\n",
   'apply reports each policy as created');
version_is(3, 'config_version raised once per policy');

($rc, $out) = policy('list');
like($out, qr/^demo-access\s+access\s+yes\s+no\s+8\s+
               \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/xm,
     'list shows the access policy');
like($out, qr/^demo-ip\s+ip\s+yes\s+no\s+1\s+\S+Z$/m,
     'list shows the ip policy');
my $listed = $out;

($rc, $out) = policy('show', 'demo-access');
is($rc, 0, 'show');
like($out, qr/^\{"name":"demo-access",.*"created_at":"([^"]+)",
               "updated_at":"([^"]+)"\}\n\z/x,
     'show prints the stored JSON, stamped');
my ($created) = $out =~ /"created_at":"([^"]+)"/;
like($out, qr/"path":"\/api\/orders\/\{id\}"/, 'stored rules kept');


# apply again: updates, created_at kept

sleep(1);

($rc, $out) = policy('apply', 'conf/policies/demo.json');
is($out, "policy demo-ip: updated\npolicy demo-access: updated\n"
         . "policy demo-validation: updated\n",
   'apply again reports updates');
version_is(6, 'config_version raised by the update');

($rc, $out) = policy('show', 'demo-access');
my ($created2, $updated2) =
    $out =~ /"created_at":"([^"]+)","updated_at":"([^"]+)"/;
is($created2, $created, 'created_at kept across an update');
isnt($updated2, $created, 'updated_at moved');

($rc, $listed) = policy('list');


# broken files change nothing

my %broken = (
    'not JSON' => [ '{"name": ',
        qr/^keryud: policy \S+: invalid JSON: parse error: premature EOF$/ ],
    'unknown field in the second of two' => [
        '[{"name": "fine", "policy_type": "ip", "rules": {}},'
        . ' {"name": "bad", "policy_type": "access", "rules": [{"id": "r",'
        . ' "path": "/x", "effect": "allow", "anyone": true, "colour": 1}]}]',
        qr/^keryud: policy \S+: policy "bad": rule "r": unknown field "colour"$/
    ],
    'no name' => [ '[{"policy_type": "ip", "rules": {}}]',
        qr/^keryud: policy \S+: document 1: "name" is required$/ ],
    'bad address' => [
        '{"name": "demo-ip", "policy_type": "ip",'
        . ' "rules": {"deny": ["192.0.2.0/33"]}}',
        qr/"demo-ip": rules: "deny": invalid address "192\.0\.2\.0\/33"$/
    ],
    'name twice' => [
        '[{"name": "a", "policy_type": "ip", "rules": {}},'
        . ' {"name": "a", "policy_type": "ip", "rules": {}}]',
        qr/^keryud: policy \S+: policy "a" is given twice$/ ],
    'empty array' => [ '[]',
        qr/^keryud: policy \S+: no policy in the file$/ ],
);

for my $what (sort keys %broken) {
    my ($text, $re) = @{$broken{$what}};

    write_file("$dir/broken.json", $text);

    ($rc, $out, $err) = policy('apply', "$dir/broken.json");
    is($rc, 1, "$what: exit 1");
    is($out, '', "$what: nothing reported as applied");
    like($err, $re, "$what: reason");
}

($rc, $out) = policy('list');
is($out, $listed, 'broken files left the policies as they were');
version_is(6, 'broken files left config_version alone');

($rc, $out, $err) = policy('apply', "$dir/missing.json");
is($rc, 1, 'missing file exits 1');
like($err, qr/^keryud: policy \S+missing\.json: No such file/,
     'missing file named');


# delete

($rc, $out) = policy('delete', 'demo-ip');
is($rc, 0, 'delete');
is($out, "policy demo-ip: deleted\n", 'delete reports');
version_is(7, 'config_version raised by the delete');

($rc, $out, $err) = policy('delete', 'demo-ip');
is($rc, 1, 'delete of a missing policy exits 1');
is($err, "keryud: policy demo-ip: no such policy\n", 'and says so');

($rc, $out, $err) = policy('show', 'demo-ip');
is($rc, 1, 'show of a missing policy exits 1');

($rc, $out) = policy('list');
unlike($out, qr/^demo-ip/m, 'deleted policy is gone from the list');
like($out, qr/^demo-access/m, 'the other stays');


# usage

($rc, $out, $err) = policy('frob');
is($rc, 1, 'unknown subcommand exits 1');
like($err, qr/^usage:/, 'and prints usage');

($rc, $out, $err) = policy('show');
is($rc, 1, 'show without a name exits 1');

done_testing();


sub policy {
    my @args = @_;

    my $pid = open(my $fh, '-|') // die "fork: $!";

    if ($pid == 0) {
        open(STDERR, '>', "$dir/stderr") or die "stderr: $!";
        exec($keryud, '-c', $conf, 'policy', @args) or die "exec: $!";
    }

    local $/;
    my $stdout = <$fh> // '';
    close($fh);
    my $code = $? >> 8;

    open(my $eh, '<', "$dir/stderr") or die "stderr: $!";
    my $stderr = <$eh> // '';
    close($eh);

    return ($code, $stdout, $stderr);
}


sub version_is {
    my ($want, $name) = @_;

    SKIP: {
        skip('mdb_dump not installed', 1) unless $have_dump;
        is(config_version(), $want, $name);
    }
}


sub config_version {
    my $dump = `mdb_dump -p -s meta $dir/store 2>/dev/null`;

    # mdb_dump -p prints the key line, then the value as escaped bytes

    my ($value) = $dump =~ /^ config_version\n (\S+)\n/m or return -1;
    my @bytes;

    while ($value =~ /\G(?:\\([0-9a-f]{2})|\\\\|(.))/gc) {
        push @bytes, defined $1 ? hex($1) : defined $2 ? ord($2) : 0x5c;
    }

    my $n = 0;
    $n = $n * 256 + $_ for reverse @bytes;

    return $n;
}


sub write_file {
    my ($path, $text) = @_;

    open(my $fh, '>', $path) or die "$path: $!";
    print $fh $text;
    close($fh);
}
