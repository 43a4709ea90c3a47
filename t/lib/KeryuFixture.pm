package KeryuFixture;

# Fixtures for the Test::Nginx suites: shared stores seeded through keryud's
# own command line (policies, keys, blocks), key pairs made with the openssl
# command, and JSON Web Tokens signed here, independently of the module.

use strict;
use warnings;

use Exporter 'import';
use Digest::SHA qw(hmac_sha256 sha256_hex);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(encode_base64);

our @EXPORT = qw(make_store store_cli key_pair jwt b64url signed %apikey);

# API keys made by make_store, by name; the store keeps only their hashes
our %apikey;

our $Top = $ENV{KERYU_TOP}
           || dirname(dirname(dirname(abs_path(__FILE__))));
our $Keryud = $ENV{KERYUD} || "$Top/build/keryud";

my $json = JSON::PP->new->canonical;


sub b64url {
    my ($s) = @_;
    my $b = encode_base64($s, '');
    $b =~ tr{+/}{-_};
    $b =~ s/=+$//;
    return $b;
}


# a new store directory with a keryud configuration beside it; returns the
# store's path
sub make_store {
    my (%o) = @_;
    my $dir = tempdir('keryu-fixture.XXXXXX', TMPDIR => 1, CLEANUP => 1);

    chmod 0755, $dir;

    open my $fh, '>', "$dir/keryud.conf" or die $!;
    print $fh "store $dir/store;\ndata $dir/data;\n";
    close $fh;

    if ($o{policies}) {
        write_file("$dir/policies.json", $json->encode($o{policies}));
        store_cli("$dir/store", 'policy', 'apply', "$dir/policies.json");
    }

    for my $k (@{ $o{keys} || [] }) {
        if ($k->{secret}) {
            write_file("$dir/$k->{kid}.secret", $k->{secret}, 0600);
            store_cli("$dir/store", 'key', 'add', '--kid', $k->{kid},
                      '--alg', 'HS256', '--secret-file',
                      "$dir/$k->{kid}.secret");
        } else {
            store_cli("$dir/store", 'key', 'add', '--kid', $k->{kid},
                      '--alg', $k->{alg}, '--pem-file', $k->{public});
        }
    }

    for my $b (@{ $o{blocks} || [] }) {
        store_cli("$dir/store", 'block', 'add', @$b);
    }

    for my $c (@{ $o{clients} || [] }) {
        write_file("$dir/$c->{id}.client", $c->{secret}, 0600);
        store_cli("$dir/store", 'client', 'add', '--id', $c->{id},
                  (map { ('--role', $_) } @{ $c->{roles} }),
                  '--secret-file', "$dir/$c->{id}.client");
    }

    for my $a (@{ $o{apikeys} || [] }) {
        my $key = store_cli("$dir/store", 'apikey', 'create', @$a);
        chomp $key;
        $apikey{ $a->[1] } = $key;
    }

    return "$dir/store";
}


# runs a keryud subcommand against the store made by make_store
sub store_cli {
    my ($store, @args) = @_;
    (my $dir = $store) =~ s{/store$}{};
    my $out = `'$Keryud' -c '$dir/keryud.conf' @{[ map { "'$_'" } @args ]} 2>&1`;
    die "keryud @args: $out" if $? != 0;
    return $out;
}


sub write_file {
    my ($path, $data, $mode) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $data;
    close $fh;
    chmod $mode, $path if defined $mode;
}


# an RS256 or ES256 key pair in PEM files; returns (private, public)
sub key_pair {
    my ($alg) = @_;
    my $dir = tempdir('keryu-keys.XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $opt = $alg eq 'RS256' ? '-algorithm RSA -pkeyopt rsa_keygen_bits:2048'
                              : '-algorithm EC -pkeyopt ec_paramgen_curve:P-256';

    system("openssl genpkey $opt -out $dir/key.pem 2>/dev/null") == 0
        or die "openssl genpkey failed";
    system("openssl pkey -in $dir/key.pem -pubout -out $dir/pub.pem") == 0
        or die "openssl pkey failed";
    chmod 0644, "$dir/pub.pem";
    chmod 0755, $dir;

    return ("$dir/key.pem", "$dir/pub.pem");
}


# a signed token: %o has alg, claims, and secret (HS256) or key (a private
# PEM file); header adds or overrides header fields
sub jwt {
    my (%o) = @_;
    my $header = { alg => $o{alg}, typ => 'JWT', %{ $o{header} || {} } };
    my $input = b64url($json->encode($header)) . '.'
                . b64url($json->encode($o{claims}));
    my $sig;

    if ($o{alg} eq 'HS256') {
        $sig = hmac_sha256($input, $o{secret});

    } elsif ($o{alg} eq 'none') {
        $sig = '';

    } else {
        $sig = openssl_sign($o{key}, $input);
        $sig = der_to_raw($sig) if $o{alg} eq 'ES256';
    }

    return $input . '.' . b64url($sig);
}


# the headers of a signed request, as more_headers lines: %o has method,
# path, query, body, client, secret, time and nonce; sign_body signs
# another body than the one sent
sub signed {
    my (%o) = @_;
    my $digest = sha256_hex($o{sign_body} // $o{body} // '');
    my $canon = join "\n", $o{method}, $o{path}, $o{query} // '',
                           $o{time}, $o{nonce}, $digest;
    my $sig = b64url(hmac_sha256($canon, $o{secret}));

    return "X-Keryu-Client: $o{client}\n"
           . "X-Keryu-Timestamp: $o{time}\n"
           . "X-Keryu-Nonce: $o{nonce}\n"
           . "X-Keryu-Content-SHA256: $digest\n"
           . "X-Keryu-Signature: $sig";
}


sub openssl_sign {
    my ($key, $input) = @_;
    my $dir = tempdir(CLEANUP => 1);

    write_file("$dir/in", $input);
    system("openssl dgst -sha256 -sign $key -out $dir/sig $dir/in") == 0
        or die "openssl dgst failed";

    open my $fh, '<:raw', "$dir/sig" or die $!;
    local $/;
    return <$fh>;
}


# ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } to JOSE's r || s
sub der_to_raw {
    my ($der) = @_;
    my @b = unpack('C*', $der);
    my $i = 2;
    my @parts;

    $i++ if $b[1] & 0x80;

    for (1 .. 2) {
        my $len = $b[$i + 1];
        my $v = pack('C*', @b[$i + 2 .. $i + 1 + $len]);
        $v =~ s/^\x00+//;
        push @parts, ("\x00" x (32 - length $v)) . $v;
        $i += 2 + $len;
    }

    return join '', @parts;
}

1;
