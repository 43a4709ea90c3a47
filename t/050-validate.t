# vim:set ft= ts=4 sw=4 et fdm=marker:

# Input validation: methods, the request target's length, header limits,
# the encoding of the target and of arguments (a table of tricks, and of
# targets that must pass), typed arguments (a table, one row per type and
# bound), unknown and required arguments, form bodies, JSON bodies against
# a schema as they are read, body size caps, shadow mode, validation
# policies from the store and their change while nginx runs, what is
# recorded, the order against keryu_access, and configuration errors.

use FindBin;
use lib "$FindBin::Bin/lib";
use KeryuFixture;
use Test::Nginx::Socket;
use IO::Socket::INET;
use POSIX ();

my $true = JSON::PP::true;

# schemas are user files, named from the configuration
$ENV{TEST_NGINX_HTML_DIR} //= html_dir();

$ENV{TEST_NGINX_KERYU_STORE} = make_store(policies => [
    {
        name => 't-valid', policy_type => 'validation',
        rules => [
            { id => 'order-id', path => '/orders/{id}',
              segments => { id => { type => 'integer', min => 1 } } },
            { id => 'search', path => '/search', methods => ['GET', 'HEAD'],
              max_args => 3, unknown_args => 'deny',
              args => {
                  q => { type => 'string', minLength => 1, maxLength => 20,
                         required => $true },
                  page => { type => 'integer', min => 1, max => 100 },
                  sort => { type => 'enum', enum => ['asc', 'desc'] },
              } },
            { id => 'trial', path => '/trial', shadow => $true,
              args => { ref => { type => 'uuid' } } },
            { id => 'count', path => '/count', shadow => $true,
              max_args => 2 },
            { id => 'short', path => '/short', max_uri_length => 16 },
            { id => 'id-arg', path => '/both',
              args => { id => { type => 'integer' } } },
            { id => 'signup', path => '/signup',
              args => { email => { type => 'email', required => $true } } },
        ],
    },
    {
        name => 't-open', policy_type => 'access',
        rules => [
            { id => 'closed', path => '/closed', effect => 'deny',
              anyone => $true },
            { id => 'open', path => '/', match => 'prefix',
              effect => 'allow', anyone => $true },
        ],
    },
]);


# A store whose validation policy a small HTTP server beside the tests
# replaces when nginx asks it to: GET /apply/N applies version N.  nginx
# proxies to it in the middle of a request, so the change happens while
# the same nginx runs.

my %reload = map {
    my $type = $_ == 1 ? 'string' : 'integer';
    $_ => {
        name => 't-reload', policy_type => 'validation',
        rules => [
            { id => 'a-n', path => '/reload/a',
              args => { n => { type => 'string' } } },
            { id => 'b-n', path => '/reload/b',
              args => { n => { type => $type } } },
        ],
    };
} 1, 2;

my $reload_store = make_store(policies => [ $reload{1} ]);
(my $reload_dir = $reload_store) =~ s{/store$}{};

for my $v (1, 2) {
    open my $fh, '>', "$reload_dir/v$v.json" or die $!;
    print $fh JSON::PP->new->canonical->encode($reload{$v});
    close $fh;
}

$ENV{TEST_NGINX_KERYU_RELOAD_STORE} = $reload_store;

my $hook = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 8, ReuseAddr => 1)
    or die "hook server: $!";

$ENV{TEST_NGINX_KERYU_HOOK_PORT} = $hook->sockport;

my $hook_pid = fork // die "fork: $!";

if ($hook_pid == 0) {
    $SIG{PIPE} = 'IGNORE';

    while (my $c = $hook->accept) {
        my $line = <$c> // '';

        while (defined(my $h = <$c>)) {
            last unless $h =~ /\S/;
        }

        my $status = '404 Not Found';

        if ($line =~ m{^GET /apply/(\d)\b}) {
            eval { store_cli($reload_store, 'policy', 'apply',
                             "$reload_dir/v$1.json"); 1 }
                or $status = '500 Internal Server Error';
        }

        print $c "HTTP/1.1 $status\r\nContent-Length: 0\r\n"
                 . "Connection: close\r\n\r\n";
        close $c;
    }

    # no END blocks here: they belong to the parent, with the stores
    POSIX::_exit(0);
}

close $hook;

END { kill 'TERM', $hook_pid if $hook_pid }


# Tables of blocks, added to those written out after __DATA__: each
# encoding trick the target can carry (caught in the target as sent, or,
# when only the value of an argument shows it, in that argument, named
# "args" when no keryu_arg names it), targets that must pass, and each
# argument type with its bounds.

# (nginx refuses "%00" in a path itself, before any module; a NUL after
# more decoding, or in an argument, is the module's)

my @tricks = (
    [ 'dot dot slash', '/files/../etc/passwd', 'path traversal' ],
    [ 'dot dot backslash', '/files/..\\etc', 'path traversal' ],
    [ 'a trailing dot dot', '/files/..', 'path traversal' ],
    [ 'encoded dots', '/files/%2e%2e/etc', 'path traversal' ],
    [ 'encoded dots and slash', '/files/%2e%2e%2fetc', 'path traversal' ],
    [ 'dots and an encoded slash', '/files/..%2fetc', 'path traversal' ],
    [ 'one dot encoded', '/files/.%2e/etc', 'path traversal' ],
    [ 'dots and an encoded backslash', '/files/..%5cetc', 'path traversal' ],
    [ 'double-encoded dots', '/files/%252e%252e/etc', 'path traversal' ],
    [ 'double-encoded dots and slash', '/files/%252e%252e%252fetc',
      'path traversal' ],
    [ 'triple-encoded dots', '/files/%25252e%25252e/etc', 'path traversal' ],
    [ '%u-encoded dots in an argument', '/files?name=%u002e%u002e/etc',
      'path traversal', 'args' ],
    [ 'dots before a semicolon', '/files/..;/etc', 'path traversal' ],
    [ 'traversal in an argument', '/files?name=../../etc/passwd',
      'path traversal' ],
    [ 'encoded traversal in an argument', '/files?name=..%2f..%2fetc',
      'path traversal' ],
    [ 'overlong dots', '/files/%c0%ae%c0%ae/etc', 'overlong utf-8' ],
    [ 'overlong slash', '/files/..%c0%afetc', 'overlong utf-8' ],
    [ 'overlong backslash', '/files/..%c1%9cetc', 'overlong utf-8' ],
    [ 'three-byte overlong dot', '/files/%e0%80%ae', 'overlong utf-8' ],
    [ 'four-byte overlong dot', '/files/%f0%80%80%ae', 'overlong utf-8' ],
    [ 'double-encoded overlong dot', '/files/%25c0%25ae', 'overlong utf-8' ],
    [ 'double-encoded NUL', '/files/a%2500.txt', 'nul byte' ],
    [ 'NUL in an argument', '/files?name=a%00b', 'nul byte' ],
    [ '%u-encoded NUL in an argument', '/files?name=%u0000', 'nul byte' ],
    [ 'a byte that starts no UTF-8', '/files/%ff', 'invalid utf-8' ],
    [ 'truncated UTF-8', '/files/%c3', 'invalid utf-8' ],
    [ 'an encoded surrogate', '/files/%ed%a0%80', 'invalid utf-8' ],
    [ 'Latin-1 in an argument', '/files?name=caf%e9', 'invalid utf-8' ],
    [ 'encoded dots and slash in an argument', '/files?name=%2e%2e%2fetc',
      'path traversal', 'args' ],
    [ 'double-encoded dots and slash in an argument',
      '/files?name=%252e%252e%252fetc', 'path traversal', 'args' ],
    [ 'encoded backslash in an argument', '/files?name=..%5cetc',
      'path traversal', 'args' ],
    [ 'backslash in an argument', '/files?name=..\\etc', 'path traversal',
      'args' ],
    [ 'dots alone as an argument', '/files?name=..', 'path traversal',
      'args' ],
    [ 'overlong dots in an argument', '/files?name=%c0%ae%c0%ae',
      'overlong utf-8' ],
    [ 'a byte that starts no UTF-8 in an argument', '/files?name=%ff',
      'invalid utf-8' ],
    [ 'NUL in an argument name', '/files?na%00me=1', 'nul byte' ],
);

# the same tricks in a form body, which the check of the target never
# sees: only the argument checks catch them, naming the field
my @form_tricks = (
    [ 'NUL', 'file=a%00b', 'nul byte' ],
    [ 'a byte that starts no UTF-8', 'file=%ff', 'invalid utf-8' ],
    [ 'truncated UTF-8', 'file=%c3', 'invalid utf-8' ],
    [ 'overlong dots', 'file=%c0%ae%c0%ae', 'overlong utf-8' ],
    [ 'double-encoded overlong dot', 'file=%25c0%25ae', 'overlong utf-8' ],
    [ 'dot dot slash', 'file=../etc', 'path traversal' ],
    [ 'encoded dots and slash', 'file=%2e%2e%2fetc', 'path traversal' ],
    [ 'double-encoded dots', 'file=%252e%252e%252fetc', 'path traversal' ],
    [ 'encoded backslash', 'file=..%5cetc', 'path traversal' ],
    [ '%u-encoded dots', 'file=%u002e%u002e/etc', 'path traversal' ],
    [ 'in a field no keryu_arg names', 'other=..%5cetc', 'path traversal',
      'args' ],
    [ 'in a field name', '..%2f..=1', 'path traversal', 'args' ],
);

my @clean = (
    [ 'dots inside a segment', '/files/a..b/c...d' ],
    [ 'a dot file', '/files/.well-known/x' ],
    [ 'encoded UTF-8', '/files/caf%C3%A9' ],
    [ 'an encoded percent sign', '/files/100%25' ],
    [ 'an encoded percent sign before hex digits', '/files/%25ff' ],
    [ 'a percent sign that encodes nothing', '/files?q=%zz%' ],
    [ 'plus and encoded plus', '/files?q=a%2Bb+c' ],
);

my $typed_config = <<'EOC';
    location = /typed {
        keryu_validate on;
        keryu_log on;
        keryu_arg id integer min=1 max=1000;
        keryu_arg ref uuid;
        keryu_arg mail email maxlen=64;
        keryu_arg sort enum values=asc|desc;
        keryu_arg name string minlen=2 maxlen=8;
        keryu_arg code pattern "pattern=[A-Z]{3}-[0-9]{4}";
        keryu_arg tag string pattern=[a-z]+;
        stub_status;
    }
EOC

my @typed = (
    [ 'integer', 'id=42' ],
    [ 'integer, percent-encoded', 'id=%34%32' ],
    [ 'integer, not one', 'id=4x', 'id', 'not an integer' ],
    [ 'integer, a decimal', 'id=4.5', 'id', 'not an integer' ],
    [ 'integer, below min', 'id=0', 'id', 'out of range' ],
    [ 'integer, at min', 'id=1' ],
    [ 'integer, at max', 'id=1000' ],
    [ 'integer, negative', 'id=-5', 'id', 'out of range' ],
    [ 'integer, above max', 'id=1001', 'id', 'out of range' ],
    [ 'integer, past 64 bits', 'id=99999999999999999999', 'id',
      'out of range' ],
    [ 'integer, given without a value', 'id', 'id', 'not an integer' ],
    [ 'uuid', 'ref=123e4567-e89b-12d3-a456-426614174000' ],
    [ 'uuid, not one', 'ref=123e4567', 'ref', 'not a uuid' ],
    [ 'uuid, upper case', 'ref=123E4567-E89B-12D3-A456-426614174000' ],
    [ 'uuid, without dashes', 'ref=123e4567e89b12d3a456426614174000', 'ref',
      'not a uuid' ],
    [ 'email', 'mail=alice%40example.com' ],
    [ 'email, not one', 'mail=alice', 'mail', 'not an email address' ],
    [ 'email, two at signs', 'mail=a%40b%40example.com', 'mail',
      'not an email address' ],
    [ 'email, no dot in the domain', 'mail=alice%40localhost', 'mail',
      'not an email address' ],
    [ 'email, too long', 'mail=' . ('a' x 60) . '%40example.com', 'mail',
      'too long' ],
    [ 'enum', 'sort=desc' ],
    [ 'enum, another value', 'sort=up', 'sort', 'not an allowed value' ],
    [ 'enum, compared with case', 'sort=DESC', 'sort',
      'not an allowed value' ],
    [ 'enum, a prefix of a value', 'sort=de', 'sort',
      'not an allowed value' ],
    [ 'string', 'name=caf%C3%A9' ],
    [ 'string, plus is a space', 'name=a+b' ],
    [ 'string, lengths count characters',
      'name=' . ('%C3%A9' x 8) ],
    [ 'string, too short', 'name=a', 'name', 'too short' ],
    [ 'string, too long', 'name=abcdefghi', 'name', 'too long' ],
    [ 'string, at minlen', 'name=ab' ],
    [ 'string, at maxlen', 'name=abcdefgh' ],
    [ 'string, too long in characters', 'name=' . ('%C3%A9' x 9), 'name',
      'too long' ],
    [ 'string, two dots as the whole value', 'name=..', 'name',
      'path traversal', 'keryu_validate' ],
    [ 'pattern', 'code=ABC-1234' ],
    [ 'pattern, matched by the whole value only', 'code=ABC-12345', 'code',
      'no pattern match' ],
    [ 'pattern, a trailing newline', 'code=ABC-1234%0A', 'code',
      'no pattern match' ],
    [ 'pattern, a prefix', 'code=XABC-1234', 'code', 'no pattern match' ],
    [ 'string with a pattern', 'tag=abc' ],
    [ 'string with a pattern, not matched', 'tag=ab1', 'tag',
      'no pattern match' ],
    [ 'every value of an argument given twice', 'id=1&id=x', 'id',
      'not an integer' ],
    [ 'names compare without case', 'ID=x', 'id', 'not an integer' ],
    [ 'arguments no directive names pass', 'other=%3Cscript%3E' ],
);


my $spec = do { local $/; <DATA> };
my $n = () = $spec =~ /^=== TEST /mg;

for my $t (@tricks) {
    my ($title, $target, $reason, $field) = @$t;
    $n++;
    $field //= 'uri';
    $spec .= <<"EOB";



=== TEST $n: encoding: $title
--- http_config
    keryu_store \$TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;

    location / {
        stub_status;
    }
--- request
GET $target
--- error_code: 400
--- response_body
{"error":"invalid request","field":"$field","rule":"keryu_validate"}
--- error_log eval
[ 'keryu rejected input: $reason, rule "keryu_validate", field "$field"',
  qr/keryu log: seq \\d+, status 400, type input_rejected/,
  'type input_rejected, details {"rule":"keryu_validate","field":"$field","reason":"$reason"}' ]
EOB
}

for my $t (@form_tricks) {
    my ($title, $body, $reason, $field) = @$t;
    $n++;
    $field //= 'file';
    $spec .= <<"EOB";



=== TEST $n: encoding in a form field: $title
--- http_config
    keryu_store \$TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;
    keryu_arg file string;

    location = /upload {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "\$content_length\\n";
    }
--- request
POST /upload
$body
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body
{"error":"invalid request","field":"$field","rule":"keryu_validate"}
--- error_log eval
[ 'keryu rejected input: $reason, rule "keryu_validate", field "$field"',
  'status 400, type input_rejected, details {"rule":"keryu_validate","field":"$field","reason":"$reason"}' ]
EOB
}

for my $t (@clean) {
    my ($title, $target) = @$t;
    $n++;
    $spec .= <<"EOB";



=== TEST $n: encoding that passes: $title
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
GET $target
--- no_error_log
[error]
keryu rejected
EOB
}

for my $t (@typed) {
    my ($title, $args, $field, $reason, $rule) = @$t;
    $n++;
    $rule //= 'keryu_arg';

    my $expect = defined $field ? <<"EOE" : <<"EOE";
--- error_code: 400
--- response_body
{"error":"invalid request","field":"$field","rule":"$rule"}
--- error_log
keryu rejected input: $reason, rule "$rule", field "$field"
type input_rejected, details {"rule":"$rule","field":"$field","reason":"$reason"}
EOE
--- no_error_log
[error]
keryu rejected
EOE

    $spec .= <<"EOB";



=== TEST $n: typed argument: $title
--- http_config
    keryu_store \$TEST_NGINX_KERYU_STORE;
--- config
$typed_config
--- request
GET /typed?$args
$expect
EOB
}

spec_string($spec);


repeat_each(2);

# each block counts the tests it asks for: its status (or the failed
# start of nginx), each header, its body, and each error log pattern
sub patterns {
    my ($section) = @_;
    return 0 unless defined $section;
    return scalar @$section if ref $section eq 'ARRAY';
    return 1 if ref $section;
    return scalar grep { /\S/ } split /\n/, $section;
}

sub tests_of {
    my ($b) = @_;
    my $n = 1 + patterns(scalar $b->error_log);

    return $n if defined $b->must_die;

    return $n + patterns(scalar $b->no_error_log)
           + patterns(scalar $b->response_headers)
           + (defined $b->response_body ? 1 : 0);
}

my $tests = 0;
$tests += tests_of($_) for blocks();

plan tests => repeat_each() * $tests;

no_long_string();
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a method that keryu_allow_methods names passes
--- config
    keryu_validate on;
    keryu_allow_methods GET HEAD;

    location / {
        stub_status;
    }
--- request
GET /t
--- no_error_log
[error]
keryu rejected



=== TEST 2: another method is refused with 405 and Allow, and recorded
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;
    keryu_allow_methods GET HEAD;

    location / {
        stub_status;
    }
--- request
DELETE /t
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/json
--- response_body
{"error":"invalid request","field":"method","rule":"keryu_allow_methods"}
--- error_log eval
[ 'keryu rejected input: method not allowed, rule "keryu_allow_methods", field "method"',
  'keryu validate: input_rejected {"rule":"keryu_allow_methods","field":"method","reason":"method not allowed"}',
  qr/keryu log: seq \d+, status 405, type input_rejected/ ]



=== TEST 3: a location's keryu_allow_methods replaces the server's
--- config
    keryu_validate on;
    keryu_allow_methods GET;

    location /a {
        stub_status;
    }

    location /b {
        keryu_allow_methods POST PUT;
        stub_status;
    }
--- request
GET /b
--- error_code: 405
--- response_headers
Allow: POST, PUT
--- response_body
{"error":"invalid request","field":"method","rule":"keryu_allow_methods"}



=== TEST 4: a target as long as keryu_max_uri_length passes
--- config
    keryu_validate on;
    keryu_max_uri_length 12;

    location / {
        stub_status;
    }
--- request
GET /abc?d=efghi
--- no_error_log
[error]



=== TEST 5: a longer target, query included, is refused with 414
--- config
    keryu_validate on;
    keryu_max_uri_length 12;

    location / {
        stub_status;
    }
--- request
GET /abc?d=efghij
--- error_code: 414
--- response_body
{"error":"invalid request","field":"uri","rule":"keryu_max_uri_length"}
--- error_log
keryu rejected input: uri too long, rule "keryu_max_uri_length", field "uri"



=== TEST 6: as many arguments as keryu_max_args pass
--- config
    keryu_validate on;
    keryu_max_args 3;

    location / {
        stub_status;
    }
--- request
GET /t?a=1&b=2&&c=3
--- no_error_log
[error]



=== TEST 7: one more argument is refused
--- config
    keryu_validate on;
    keryu_max_args 3;

    location / {
        stub_status;
    }
--- request
GET /t?a=1&b=2&c=3&d=4
--- error_code: 400
--- response_body
{"error":"invalid request","field":"args","rule":"keryu_max_args"}
--- error_log
keryu rejected input: too many arguments, rule "keryu_max_args", field "args"



=== TEST 8: too many header lines are refused with 431
--- config
    keryu_validate on;
    keryu_max_headers 4;

    location / {
        stub_status;
    }
--- request
GET /t
--- more_headers
X-A: 1
X-B: 2
X-C: 3
X-D: 4
--- error_code: 431
--- response_body
{"error":"invalid request","field":"headers","rule":"keryu_max_headers"}
--- error_log
keryu rejected input: too many headers, rule "keryu_max_headers", field "headers"



=== TEST 9: a header larger than keryu_max_header_size is refused with 431
--- config
    keryu_validate on;
    keryu_max_header_size 32;

    location / {
        stub_status;
    }
--- request
GET /t
--- more_headers
X-Small: 1
X-Large: 0123456789012345678901234567890
--- error_code: 431
--- response_body
{"error":"invalid request","field":"headers","rule":"keryu_max_header_size"}
--- error_log
keryu rejected input: header too large, rule "keryu_max_header_size", field "headers"



=== TEST 10: headers within both limits pass
--- config
    keryu_validate on;
    keryu_max_headers 4;
    keryu_max_header_size 32;

    location / {
        stub_status;
    }
--- request
GET /t
--- more_headers
X-Small: 1
--- no_error_log
[error]



=== TEST 11: keryu_unknown_args deny refuses an argument no keryu_arg names, without naming it
--- config
    keryu_validate on;
    keryu_unknown_args deny;
    keryu_arg id integer;

    location / {
        stub_status;
    }
--- request
GET /t?id=1&secret_probe=1
--- error_code: 400
--- response_body
{"error":"invalid request","field":"args","rule":"keryu_unknown_args"}
--- error_log
keryu rejected input: unknown argument, rule "keryu_unknown_args", field "args"



=== TEST 12: keryu_unknown_args deny lets named arguments through
--- config
    keryu_validate on;
    keryu_unknown_args deny;
    keryu_arg id integer;

    location / {
        stub_status;
    }
--- request
GET /t?Id=1
--- no_error_log
[error]



=== TEST 13: a required argument that is missing
--- config
    keryu_validate on;
    keryu_arg id integer required;

    location / {
        stub_status;
    }
--- request
GET /t?other=1
--- error_code: 400
--- response_body
{"error":"invalid request","field":"id","rule":"keryu_arg"}
--- error_log
keryu rejected input: missing, rule "keryu_arg", field "id"



=== TEST 14: a form body is checked with the query, and goes on whole
--- config
    keryu_validate on;
    keryu_unknown_args deny;
    keryu_arg username string minlen=1 maxlen=64 required;
    keryu_arg password string minlen=1 maxlen=128 required;
    keryu_arg next string;

    location = /login {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request
POST /login?next=%2Fhome
username=alice&password=p%40ss+word
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body
35
--- no_error_log
[error]



=== TEST 15: a form field of the wrong type
--- config
    keryu_validate on;
    keryu_arg username string minlen=1 maxlen=8;

    location = /login {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request
POST /login
username=a-name-too-long&password=x
--- more_headers
Content-Type: application/x-www-form-urlencoded; charset=utf-8
--- error_code: 400
--- response_body
{"error":"invalid request","field":"username","rule":"keryu_arg"}
--- error_log
keryu rejected input: too long, rule "keryu_arg", field "username"



=== TEST 16: a required field may come in the body alone
--- config
    keryu_validate on;
    keryu_arg username string required;

    location = /login {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request
POST /login
password=x&username=bob
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body
23
--- no_error_log
[error]



=== TEST 17: an unknown field in a form body
--- config
    keryu_validate on;
    keryu_unknown_args deny;
    keryu_arg username string;

    location = /login {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request
POST /login
username=bob&is_admin=1
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body
{"error":"invalid request","field":"args","rule":"keryu_unknown_args"}



=== TEST 18: an encoding trick in a form field, named by its field
--- config
    keryu_validate on;
    keryu_arg file string;

    location = /upload {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request
POST /upload
file=..%2F..%2Fetc%2Fpasswd
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body
{"error":"invalid request","field":"file","rule":"keryu_validate"}
--- error_log
keryu rejected input: path traversal, rule "keryu_validate", field "file"



=== TEST 19: a form body written to a file is read back in pieces, a field cut between two
--- config
    keryu_validate on;
    client_body_buffer_size 1k;
    client_body_in_file_only clean;
    keryu_arg pad string;
    keryu_arg id integer;

    location = /form {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request eval
"POST /form\n" . ("pad=" . ("x" x 8185) . "&id=12345&id=12x45")
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body
{"error":"invalid request","field":"id","rule":"keryu_arg"}
--- error_log
keryu rejected input: not an integer, rule "keryu_arg", field "id"



=== TEST 20: the same body, all valid, reaches the upstream whole
--- config
    keryu_validate on;
    client_body_buffer_size 1k;
    client_body_in_file_only clean;
    keryu_arg pad string;
    keryu_arg id integer;

    location = /form {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request eval
"POST /form\n" . ("pad=" . ("x" x 8185) . "&id=12345&id=67890")
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body
8207
--- no_error_log
[error]



=== TEST 21: a JSON body the schema accepts reaches the upstream whole
--- user_files
>>> schema.json
{"type": "object",
 "properties": {
   "name": {"type": "string", "minLength": 1, "maxLength": 8},
   "qty": {"type": "integer", "minimum": 1, "maximum": 10},
   "colour": {"enum": ["red", "blue"]},
   "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
   "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2}
 },
 "required": ["name"],
 "additionalProperties": false}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request
POST /json
{"name": "box", "qty": 2, "colour": "red", "code": "ABC", "tags": ["a"]}
--- more_headers
Content-Type: application/json
--- response_body
72
--- no_error_log
[error]



=== TEST 22: a JSON body that breaks the schema is refused, and recorded with the keyword
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- user_files
>>> schema.json
{"type": "object",
 "properties": {"qty": {"type": "integer", "maximum": 10}},
 "additionalProperties": false}
--- config
    keryu_validate on;
    keryu_log on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request
POST /json
{"qty": 11}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log eval
[ 'keryu rejected input: maximum: above maximum, rule "keryu_body_schema", field "body"',
  'keryu validate: input_rejected {"rule":"keryu_body_schema","field":"body","reason":"maximum: above maximum"}',
  qr/keryu log: seq \d+, status 400, type input_rejected/ ]



=== TEST 23: schema keyword: type
--- user_files
>>> schema.json
{"type": "object", "properties": {"qty": {"type": "integer"}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"name": "box", "qty": "two"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: type: wrong type, rule "keryu_body_schema"



=== TEST 24: schema keyword: required
--- user_files
>>> schema.json
{"type": "object", "required": ["name"]}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"qty": 2}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: required: required property missing, rule "keryu_body_schema"



=== TEST 25: schema keyword: maxLength
--- user_files
>>> schema.json
{"type": "object", "properties": {"name": {"type": "string", "maxLength": 3}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"name": "four"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: maxLength: string too long, rule "keryu_body_schema"



=== TEST 26: schema keyword: enum
--- user_files
>>> schema.json
{"type": "object", "properties": {"colour": {"enum": ["red", "blue"]}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"colour": "green"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: enum: not an allowed value, rule "keryu_body_schema"



=== TEST 27: schema keyword: pattern
--- user_files
>>> schema.json
{"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"code": "abc"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: pattern: does not match pattern, rule "keryu_body_schema"



=== TEST 28: schema keyword: additionalProperties
--- user_files
>>> schema.json
{"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": false}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"name": "box", "is_admin": true}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: additionalProperties: property not allowed, rule "keryu_body_schema"



=== TEST 29: schema keyword: maxItems
--- user_files
>>> schema.json
{"type": "object", "properties": {"tags": {"type": "array", "maxItems": 2}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"tags": [1, 2, 3]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: maxItems: too many items, rule "keryu_body_schema"



=== TEST 30: a body that is not JSON
--- user_files
>>> schema.json
{"type": "object"}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"name": "box",
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: json: incomplete json, rule "keryu_body_schema"



=== TEST 31: a JSON body in chunks is checked as they arrive, a value cut between two
--- user_files
>>> schema.json
{"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request eval
"POST /json\n"
. "5\r\n{\"nam\r\n"
. "9\r\ne\": \"abcd\r\n"
. "7\r\nefghi\"}\r\n"
. "0\r\n\r\n"
--- more_headers
Content-Type: application/json
Transfer-Encoding: chunked
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: maxLength: string too long, rule "keryu_body_schema"



=== TEST 32: a JSON body that another location read into a file is read back in chunks
--- user_files
>>> first
a static file, which refuses a POST with 405
>>> loose.json
{"type": "object"}
>>> strict.json
{"type": "object", "properties": {"qty": {"type": "integer", "maximum": 10}}}
--- config
    keryu_validate on;
    client_body_buffer_size 1k;
    client_body_in_file_only clean;

    location = /first {
        keryu_body_schema $TEST_NGINX_HTML_DIR/loose.json;
        root $TEST_NGINX_HTML_DIR;
        error_page 405 = /second;
    }

    location = /second {
        keryu_body_schema $TEST_NGINX_HTML_DIR/strict.json;
        stub_status;
    }
--- request eval
"POST /first\n" . '{"pad": "' . ("x" x 20000) . '", "qty": 11}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: maximum: above maximum, rule "keryu_body_schema"



=== TEST 33: a body that is not JSON where a schema applies is refused with 415
--- user_files
>>> schema.json
{"type": "object"}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"name": "box"}
--- more_headers
Content-Type: text/plain
--- error_code: 415
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: unsupported media type, rule "keryu_body_schema", field "body"



=== TEST 34: a body declared larger than keryu_body_max is refused with 413 unread
--- config
    keryu_validate on;
    keryu_body_max 16;

    location = /up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /up
0123456789abcdefg
--- more_headers
Content-Type: application/octet-stream
--- error_code: 413
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_max"}
--- error_log
keryu rejected input: body too large, rule "keryu_body_max", field "body"



=== TEST 35: a chunked body is counted as it arrives, and refused with 413 once past keryu_body_max
--- config
    keryu_validate on;
    keryu_body_max 16;

    location = /up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request eval
"POST /up\n"
. "a\r\n0123456789\r\n"
. "a\r\n0123456789\r\n"
. "0\r\n\r\n"
--- more_headers
Content-Type: application/octet-stream
Transfer-Encoding: chunked
--- error_code: 413
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_max"}
--- error_log
keryu rejected input: body too large, rule "keryu_body_max", field "body"



=== TEST 36: a body as large as keryu_body_max passes
--- config
    keryu_validate on;
    keryu_body_max 16;

    location = /up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request eval
"POST /up\n"
. "8\r\n01234567\r\n"
. "8\r\n89abcdef\r\n"
. "0\r\n\r\n"
--- more_headers
Content-Type: application/octet-stream
Transfer-Encoding: chunked
--- response_body
16
--- no_error_log
[error]



=== TEST 37: shadow mode lets the request through and records what it would refuse
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_arg id integer;

    location / {
        stub_status;
    }
--- request
GET /t?id=x
--- error_log eval
[ 'keryu would reject input in shadow mode: not an integer, rule "keryu_arg", field "id"',
  'keryu validate: shadow {"reason":"shadow","rule":"keryu_arg","field":"id","invalid":"not an integer","length":1}',
  qr/keryu log: seq \d+, status 200, type request/ ]
--- no_error_log
[error]



=== TEST 38: shadow mode checks bodies too
--- user_files
>>> schema.json
{"type": "object", "properties": {"qty": {"type": "integer"}}}
--- config
    keryu_validate shadow;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }

    location = /echo {
        return 200 "$content_length\n";
    }
--- request
POST /json
{"qty": "two"}
--- more_headers
Content-Type: application/json
--- response_body
14
--- error_log
keryu would reject input in shadow mode: type: wrong type, rule "keryu_body_schema", field "body"
--- no_error_log
[error]



=== TEST 39: keryu_validate off checks nothing
--- config
    keryu_validate on;

    location / {
        keryu_validate off;
        keryu_arg id integer;
        stub_status;
    }
--- request
GET /files/%2e%2e/x?id=abc
--- no_error_log
[error]
keryu rejected



=== TEST 40: a location answered by return is not covered
--- config
    keryu_validate on;

    location / {
        return 200 "returned\n";
    }
--- request
GET /files/..%2fetc
--- response_body
returned



=== TEST 41: store rule: a {name} segment of the path, typed
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;

    location / {
        stub_status;
    }
--- request
GET /orders/0
--- error_code: 400
--- response_body
{"error":"invalid request","field":"id","rule":"t-valid/order-id"}
--- error_log eval
[ 'keryu rejected input: out of range, rule "t-valid/order-id", field "id"',
  'keryu validate: input_rejected {"rule":"t-valid/order-id","field":"id","reason":"out of range"}',
  qr/keryu log: seq \d+, status 400, type input_rejected/ ]



=== TEST 42: store rule: the segment passes
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
GET /orders/17
--- no_error_log
[error]



=== TEST 43: store rule: methods, with the rule's methods in Allow
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
POST /search?q=x
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body
{"error":"invalid request","field":"method","rule":"t-valid/search"}



=== TEST 44: store rule: typed arguments pass
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
GET /search?q=boxes&page=2&sort=desc
--- no_error_log
[error]



=== TEST 45: store rule: a typed argument out of its bounds
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
GET /search?q=boxes&page=101
--- error_code: 400
--- response_body
{"error":"invalid request","field":"page","rule":"t-valid/search"}
--- error_log
keryu rejected input: out of range, rule "t-valid/search", field "page"



=== TEST 46: store rule: a required argument
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
GET /search?page=1
--- error_code: 400
--- response_body
{"error":"invalid request","field":"q","rule":"t-valid/search"}
--- error_log
keryu rejected input: missing, rule "t-valid/search", field "q"



=== TEST 47: store rule: an unknown argument
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
GET /search?q=x&debug=1
--- error_code: 400
--- response_body
{"error":"invalid request","field":"args","rule":"t-valid/search"}
--- error_log
keryu rejected input: unknown argument, rule "t-valid/search", field "args"



=== TEST 48: store rule: max_args
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
GET /search?q=x&page=1&sort=asc&q=y
--- error_code: 400
--- response_body
{"error":"invalid request","field":"args","rule":"t-valid/search"}
--- error_log
keryu rejected input: too many arguments, rule "t-valid/search", field "args"



=== TEST 49: store rule: max_uri_length
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        stub_status;
    }
--- request
GET /short?abcdefghij
--- error_code: 414
--- response_body
{"error":"invalid request","field":"uri","rule":"t-valid/short"}



=== TEST 50: store rule: a form field
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location = /signup {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /signup
email=not-an-email&name=x
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body
{"error":"invalid request","field":"email","rule":"t-valid/signup"}
--- error_log
keryu rejected input: not an email address, rule "t-valid/signup", field "email"



=== TEST 51: a shadow store rule is recorded and refuses nothing
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;

    location / {
        stub_status;
    }
--- request
GET /trial?ref=not-a-uuid
--- error_log eval
[ 'keryu would reject input in shadow mode: not a uuid, rule "t-valid/trial", field "ref"',
  'keryu validate: shadow {"reason":"shadow","rule":"t-valid/trial","field":"ref","invalid":"not a uuid","length":10}',
  qr/keryu log: seq \d+, status 200, type request/ ]
--- no_error_log
[error]



=== TEST 52: keryu_access lets a shadow hit through; the record keeps both decisions
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_access on;
    keryu_log on;

    location / {
        stub_status;
    }
--- request
GET /trial?ref=not-a-uuid
--- error_log eval
[ 'keryu validate: shadow {"rule":"t-open/open","shadow":"t-valid/trial","field":"ref","invalid":"not a uuid","length":10}',
  qr/keryu log: seq \d+, status 200, type request/ ]
--- no_error_log
[error]



=== TEST 53: validation comes before keryu_access: bad input is 400, not 401
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_access on;
    keryu_log on;

    location / {
        stub_status;
    }
--- request
GET /closed?x=%c0%ae
--- error_code: 400
--- response_body
{"error":"invalid request","field":"uri","rule":"keryu_validate"}
--- error_log eval
[ 'keryu rejected input: overlong utf-8, rule "keryu_validate", field "uri"',
  qr/keryu log: seq \d+, status 400, type input_rejected/ ]
--- no_error_log
keryu denied access



=== TEST 54: both must pass: valid input that keryu_access refuses
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_access on;

    location / {
        stub_status;
    }
--- request
GET /closed?x=1
--- error_code: 403
--- response_body
{"error":"forbidden","reason":"policy"}
--- error_log
keryu denied access: policy, rule "t-open/closed"
--- no_error_log
keryu rejected



=== TEST 55: directives are checked before store rules
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        keryu_arg id integer max=5;
        stub_status;
    }
--- request
GET /both?id=abc
--- error_code: 400
--- response_body
{"error":"invalid request","field":"id","rule":"keryu_arg"}



=== TEST 56: then store rules, both over the same argument
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;

    location / {
        keryu_arg id string maxlen=5;
        stub_status;
    }
--- request
GET /both?id=abc
--- error_code: 400
--- response_body
{"error":"invalid request","field":"id","rule":"t-valid/id-arg"}



=== TEST 57: a validation policy changed in the store applies to the next request, without a reload
--- http_config
    keryu_store $TEST_NGINX_KERYU_RELOAD_STORE;
--- config
    keryu_validate on;
    recursive_error_pages on;
    proxy_intercept_errors on;

    location = /reload/start {
        proxy_pass http://127.0.0.1:$TEST_NGINX_KERYU_HOOK_PORT/apply/1;
        error_page 404 = /reload/a?n=abc;
    }

    location = /reload/a {
        proxy_pass http://127.0.0.1:$TEST_NGINX_KERYU_HOOK_PORT/apply/2;
        error_page 404 = /reload/b?n=abc;
    }

    location = /reload/b {
        stub_status;
    }
--- request
GET /reload/start
--- error_code: 400
--- response_body
{"error":"invalid request","field":"n","rule":"t-reload/b-n"}
--- error_log eval
[ qr/keryu policies version \d+ loaded/,
  'keryu rejected input: not an integer, rule "t-reload/b-n", field "n"' ]
--- no_error_log
rule "t-reload/a-n"



=== TEST 58: invalid keryu_validate
--- config
    keryu_validate maybe;
--- must_die
--- error_log
invalid value "maybe"



=== TEST 59: unknown argument type
--- config
    keryu_arg id int;
--- must_die
--- error_log
invalid type "int"



=== TEST 60: unknown keryu_arg parameter
--- config
    keryu_arg id integer below=5;
--- must_die
--- error_log
invalid parameter "below=5"



=== TEST 61: a bound that belongs to another type
--- config
    keryu_arg name string min=1;
--- must_die
--- error_log
invalid parameter "min=1"



=== TEST 62: an integer bound that is not an integer
--- config
    keryu_arg id integer max=ten;
--- must_die
--- error_log
invalid value "max=ten"



=== TEST 63: enum without values
--- config
    keryu_arg sort enum;
--- must_die
--- error_log
"enum" must have "values" parameter



=== TEST 64: an empty value in values=
--- config
    keryu_arg sort enum values=asc||desc;
--- must_die
--- error_log
empty value in "values=asc||desc"



=== TEST 65: pattern without a pattern
--- config
    keryu_arg code pattern;
--- must_die
--- error_log
"pattern" must have "pattern" parameter



=== TEST 66: a pattern that does not compile
--- config
    keryu_arg code pattern pattern=(;
--- must_die
--- error_log
invalid pattern "pattern=(": missing closing parenthesis at offset 1



=== TEST 67: min above max
--- config
    keryu_arg id integer min=5 max=1;
--- must_die
--- error_log
minimum is greater than maximum for "id"



=== TEST 68: an argument named twice, without case
--- config
    keryu_arg id integer;
    keryu_arg ID string;
--- must_die
--- error_log
duplicate argument "ID"



=== TEST 69: an argument name that does not print safely
--- config
    keryu_arg "a b" integer;
--- must_die
--- error_log
invalid argument name "a b"



=== TEST 70: a lowercase method
--- config
    keryu_allow_methods get;
--- must_die
--- error_log
invalid method "get"



=== TEST 71: keryu_max_uri_length of zero
--- config
    keryu_max_uri_length 0;
--- must_die
--- error_log
value must be between 1 and 2147483647



=== TEST 72: invalid keryu_unknown_args
--- config
    keryu_unknown_args refuse;
--- must_die
--- error_log
invalid value "refuse"



=== TEST 73: a schema file that is not there
--- config
    keryu_body_schema /nonexistent/keryu-schema.json;
--- must_die
--- error_log
open() "/nonexistent/keryu-schema.json" failed



=== TEST 74: a schema that does not compile names the keyword
--- user_files
>>> schema.json
{"type": "object", "oneOf": []}
--- config
    keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
--- must_die
--- error_log eval
qr/invalid schema "[^"]*schema\.json": .*"oneOf"/



=== TEST 75: schema keyword: minimum
--- user_files
>>> schema.json
{"type": "object", "properties": {"qty": {"type": "integer", "minimum": 1}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"qty": 0}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: minimum: below minimum, rule "keryu_body_schema"



=== TEST 76: schema keyword: maximum, in a nested object
--- user_files
>>> schema.json
{"type": "object", "properties": {"line": {"type": "object",
 "properties": {"qty": {"type": "integer", "maximum": 10}}}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"line": {"qty": 11}}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: maximum: above maximum, rule "keryu_body_schema"



=== TEST 77: schema keyword: minLength
--- user_files
>>> schema.json
{"type": "object", "properties": {"name": {"type": "string", "minLength": 2}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"name": "\u00e9"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: minLength: string too short, rule "keryu_body_schema"



=== TEST 78: schema keyword: properties, a property whose schema is false
--- user_files
>>> schema.json
{"type": "object", "properties": {"name": {"type": "string"}, "admin": false}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"name": "box", "admin": true}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: properties: property not allowed, rule "keryu_body_schema"



=== TEST 79: schema keyword: items, an item of the wrong type
--- user_files
>>> schema.json
{"type": "object",
 "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"ids": [1, 2, "three"]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: type: wrong type, rule "keryu_body_schema"



=== TEST 80: schema keyword: items, where no item is allowed
--- user_files
>>> schema.json
{"type": "object", "properties": {"none": {"type": "array", "items": false}}}
--- config
    keryu_validate on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"none": [0]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
keryu rejected input: items: value not allowed, rule "keryu_body_schema"



=== TEST 81: a refused argument's value is echoed neither in the answer nor in the logs
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;
    keryu_arg id integer;

    location / {
        stub_status;
    }
--- request
GET /t?id=%22%7D%3Cb%3EWVX4711-secret
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body
{"error":"invalid request","field":"id","rule":"keryu_arg"}
--- error_log
keryu rejected input: not an integer, rule "keryu_arg", field "id"
type input_rejected, details {"rule":"keryu_arg","field":"id","reason":"not an integer"}
--- no_error_log eval
[ qr/keryu[^\n]*WVX4711(?!-secret HTTP\/1\.1")/, '[alert]' ]



=== TEST 82: a refused body's content is echoed neither in the answer nor in the logs
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- user_files
>>> schema.json
{"type": "object", "properties": {"qty": {"type": "integer"}}}
--- config
    keryu_validate on;
    keryu_log on;

    location = /json {
        keryu_body_schema $TEST_NGINX_HTML_DIR/schema.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /json
{"qty": "\"}WVX4711-secret"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_schema"}
--- error_log
type input_rejected, details {"rule":"keryu_body_schema","field":"body","reason":"type: wrong type"}
--- no_error_log eval
[ qr/keryu[^\n]*WVX4711(?!-secret HTTP\/1\.1")/, '[alert]' ]



=== TEST 83: a store rule's refusal is recorded with what the answer names
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;

    location / {
        stub_status;
    }
--- request
GET /search?q=x&page=101
--- error_code: 400
--- response_body
{"error":"invalid request","field":"page","rule":"t-valid/search"}
--- error_log
keryu rejected input: out of range, rule "t-valid/search", field "page"
status 400, type input_rejected, details {"rule":"t-valid/search","field":"page","reason":"out of range"}
--- no_error_log
[alert]



=== TEST 84: a body over keryu_body_max is recorded with what the answer names
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;
    keryu_body_max 16;

    location = /up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /up
0123456789abcdefg
--- more_headers
Content-Type: application/octet-stream
--- error_code: 413
--- response_body
{"error":"invalid request","field":"body","rule":"keryu_body_max"}
--- error_log
status 413, type input_rejected, details {"rule":"keryu_body_max","field":"body","reason":"body too large"}
--- no_error_log
[alert]



=== TEST 85: a shadow hit records the shape of the value, not the value: an integer past max
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_arg id integer min=1 max=100;

    location / {
        stub_status;
    }
--- request
GET /t?id=4321
--- error_log
status 200, type request, details {"reason":"shadow","rule":"keryu_arg","field":"id","invalid":"out of range","length":4,"range":"above","bound":5000}
--- no_error_log eval
[ qr/keryu[^\n]*4321(?! HTTP\/1\.1")/, '[error]' ]



=== TEST 86: a shadow hit below min records the bound beyond it
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_arg id integer min=1 max=100;

    location / {
        stub_status;
    }
--- request
GET /t?id=-7
--- error_log
"field":"id","invalid":"out of range","length":2,"range":"below","bound":-10}
--- no_error_log
[error]



=== TEST 87: a shadow hit past 64 bits records no bound
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_arg id integer min=1 max=100;

    location / {
        stub_status;
    }
--- request
GET /t?id=123456789012345678901234
--- error_log
"field":"id","invalid":"out of range","length":24,"range":"overflow"}
--- no_error_log
[error]



=== TEST 88: a shadow hit of a string's length counts characters
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_arg name string maxlen=3;

    location / {
        stub_status;
    }
--- request
GET /t?name=%C3%A9t%C3%A9s
--- error_log
details {"reason":"shadow","rule":"keryu_arg","field":"name","invalid":"too long","length":4}
--- no_error_log
[error]



=== TEST 89: a shadow store rule counts every argument
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate on;
    keryu_log on;

    location / {
        stub_status;
    }
--- request
GET /count?a=1&b=2&c=3&d=4&e=5
--- error_code: 200
--- error_log
details {"reason":"shadow","rule":"t-valid/count","field":"args","invalid":"too many arguments","count":5}
--- no_error_log
[error]



=== TEST 90: shadow keryu_max_args counts every argument too
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_max_args 2;

    location / {
        stub_status;
    }
--- request
GET /t?a=1&b=2&c=3&d=4
--- error_code: 200
--- error_log
details {"reason":"shadow","rule":"keryu_max_args","field":"args","invalid":"too many arguments","count":4}
--- no_error_log
[error]



=== TEST 91: a shadow header size limit records the largest header
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_max_header_size 16;

    location / {
        stub_status;
    }
--- more_headers
X-Long: 0123456789abcdef
--- request
GET /t
--- error_code: 200
--- error_log
"invalid":"header too large","length":22}
--- no_error_log
[error]



=== TEST 92: a shadow header count limit records how many came
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_max_headers 4;

    location / {
        stub_status;
    }
--- more_headers
X-A: 1
X-B: 2
X-C: 3
X-D: 4
--- request
GET /t
--- error_code: 200
--- error_log
"field":"headers","invalid":"too many headers","count":6}
--- no_error_log
[error]



=== TEST 93: a shadow body over keryu_body_max records its length
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;
    keryu_body_max 16;

    location = /up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }

    location = /ok {
        return 200 "ok\n";
    }
--- request
POST /up
0123456789abcdefghij
--- more_headers
Content-Type: application/octet-stream
--- error_code: 200
--- response_body
ok
--- error_log
details {"reason":"shadow","rule":"keryu_body_max","field":"body","invalid":"body too large","length":20}
--- no_error_log
[error]



=== TEST 94: a shadow store rule's URI length
--- http_config
    keryu_store $TEST_NGINX_KERYU_STORE;
--- config
    keryu_validate shadow;
    keryu_log on;

    location / {
        stub_status;
    }
--- request
GET /short?abcdefghijklmnop
--- error_code: 200
--- error_log
details {"reason":"shadow","rule":"t-valid/short","field":"uri","invalid":"uri too long","length":23}
--- no_error_log
[error]
