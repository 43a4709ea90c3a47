# Keryu Security: the nginx module, the keryud daemon, their tests.
#
# Tunables:
#   NGINX_SRC   an nginx source tree to build the module against with
#               --with-compat; empty means Debian's nginx-dev copy of the
#               installed nginx
#   NGINX_BIN   the nginx binary that runs the demo and the tests
#   SANITIZE    e.g. "address" to build keryud and unit tests with
#               -fsanitize=address
#   FUZZ_TIME   seconds "make fuzz" runs each fuzz target for
#   E2E_TESTS   what "make test-e2e" hands to prove

CC =		cc
OPT =		-O2 -g
W =		-Wall -Wextra -Wshadow -Wpointer-arith -Wsign-compare \
		-Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations
SANITIZE =
SAN =		$(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer)
CFLAGS =	$(OPT) $(W) $(SAN) -std=c99 -D_GNU_SOURCE -Ishared -Isidecar
LDFLAGS =	$(SAN)
LIBS =		-llmdb -lyajl -levent_core -levent_extra -levent_openssl \
		-lssl -lcrypto -lpcre2-8

prefix =	/usr/local
DESTDIR =

# as Debian builds its own nginx modules (dpkg-buildflags), plus our
# warnings; nginx's configure alone would compile with -O
MODULE_CC_OPT =	-g -O2 -fstack-protector-strong -Wformat \
		-Werror=format-security -Wp,-D_FORTIFY_SOURCE=2 -fPIC \
		-Wextra -Wno-unused-parameter $(SAN)
NGINX_BIN =	/usr/sbin/nginx
NGINX_SRC =
BUILD =		build
MODULE =	$(BUILD)/ngx_http_keryu_module.so
KERYUD =	$(BUILD)/keryud
DASHBOARD =	$(BUILD)/dashboard
DASHBOARD_SRC =	sidecar/dashboard
DASHBOARD_NPM =	$(DASHBOARD_SRC)/node_modules/.npm-ci

# Debian packages the project needs, each checked on its own by "deps"
DEB_PACKAGES =	gcc make pkg-config nginx nginx-dev libssl-dev \
		liblmdb-dev lmdb-utils libyajl-dev libevent-dev \
		libcmocka-dev libpcre2-dev zlib1g-dev python3 perl curl \
		libtest-base-perl libtext-diff-perl libtest-longstring-perl \
		liblist-moreutils-perl libipc-run-perl wrk valgrind openssl \
		procps clang libclang-rt-dev chromium nodejs \
		libnginx-mod-http-modsecurity modsecurity-crs \
		wapiti testssl.sh cppcheck clang-tidy

SHARED_SRCS =	$(wildcard shared/*.c)
SHARED_HDRS =	$(wildcard shared/*.h)
SIDECAR_SRCS =	$(filter-out sidecar/keryud.c,$(wildcard sidecar/*.c))
SIDECAR_HDRS =	$(wildcard sidecar/*.h)
MODULE_SRCS =	$(wildcard ngx_module/*.c ngx_module/*.h) config $(SHARED_SRCS) \
		$(SHARED_HDRS)

LIB_OBJS =	$(patsubst %.c,$(BUILD)/obj/%.o,$(SHARED_SRCS) $(SIDECAR_SRCS))
UNIT_SRCS =	$(wildcard t/unit/test_*.c)
UNIT_BINS =	$(patsubst t/unit/%.c,$(BUILD)/t/%,$(UNIT_SRCS))
BENCH_BIN =	$(BUILD)/t/consume_bench

# libFuzzer targets t/fuzz/fuzz_<name>.c, each run on a copy of
# t/fuzz/corpus/<name>/ (and with t/fuzz/<name>.dict when there is one)
FUZZ_CC =	clang
FUZZ_TIME =	60
FUZZ_CFLAGS =	-g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -std=c99 -D_GNU_SOURCE -Ishared
FUZZ_LIBS =	-llmdb -lyajl -lcrypto -lpcre2-8
FUZZ_SRCS =	$(wildcard t/fuzz/fuzz_*.c)
FUZZ_BINS =	$(patsubst t/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

# the real Test::Nginx when perl finds it, else the compatible runner
PROVE_LIB =	$(shell perl -MTest::Nginx::Socket -e1 2>/dev/null || echo -I t/compat)

.PHONY: all deps module keryud dashboard run stop test unit test-demo \
	test-nginx test-e2e test-dashboard memcheck test-asan \
	bench bench-keryud fuzz scan drill \
	install clean

all: module keryud dashboard

# npm on its own: Debian's npm conflicts with nodejs builds that bring one
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing$$missing"; \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	        --no-install-recommends $$missing; \
	else \
	    echo "deps: all packages present"; \
	fi
	@command -v npm > /dev/null || { \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	        --no-install-recommends npm; }

module: $(MODULE)
keryud: $(KERYUD)
dashboard: $(DASHBOARD)/index.html

# the dashboard's npm packages, exactly as package-lock.json pins them

$(DASHBOARD_NPM): $(DASHBOARD_SRC)/package.json $(DASHBOARD_SRC)/package-lock.json
	cd $(DASHBOARD_SRC) && npm ci --no-audit --no-fund
	touch $@

$(DASHBOARD)/index.html: $(DASHBOARD_NPM) $(DASHBOARD_SRC)/build.mjs \
		$(wildcard $(DASHBOARD_SRC)/src/*)
	node $(DASHBOARD_SRC)/build.mjs $(DASHBOARD)

# nginx's own build compiles the module; configure runs once per tree

$(BUILD)/nginx/objs/Makefile: config Makefile
	rm -rf $(BUILD)/nginx && mkdir -p $(BUILD)
	@if [ -n "$(NGINX_SRC)" ]; then \
	    cp -r $(NGINX_SRC) $(BUILD)/nginx && \
	    cd $(BUILD)/nginx && \
	    if [ -x configure ]; then c=./configure; else c=auto/configure; fi && \
	    $$c --with-compat \
	        --with-cc-opt="$(MODULE_CC_OPT)" \
	        --add-dynamic-module=$(CURDIR) > configure.log; \
	else \
	    cp -r /usr/share/nginx/src $(BUILD)/nginx && \
	    cd $(BUILD)/nginx && bash -c '. ./conf_flags && ./configure \
	        "$${NGX_CONF_FLAGS[@]}" --with-cc-opt="$(MODULE_CC_OPT)" \
	        --add-dynamic-module=$(CURDIR)' \
	        > configure.log; \
	fi || { cat $(BUILD)/nginx/configure.log; exit 1; }

$(MODULE): $(BUILD)/nginx/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -C $(BUILD)/nginx -f objs/Makefile modules > /dev/null
	cp $(BUILD)/nginx/objs/ngx_http_keryu_module.so $@.new
	mv $@.new $@

$(BUILD)/obj/%.o: %.c $(SHARED_HDRS) $(SIDECAR_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# where an installed keryud finds the dashboard by default
$(BUILD)/obj/sidecar/conf.o: CFLAGS += -DKERYU_SHARE='"$(prefix)/share/keryu"'

$(KERYUD): $(BUILD)/obj/sidecar/keryud.o $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@.new $^ $(LIBS)
	mv $@.new $@

$(BENCH_BIN): t/bench/consume_bench.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LIBS)

$(BUILD)/t/%: t/unit/%.c t/unit/unit.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LIBS) -lcmocka

run: deps all
	@KERYU_NGINX=$(NGINX_BIN) KERYUD=$(abspath $(KERYUD)) \
	    MODULE=$(abspath $(MODULE)) sh conf/demo.sh start

stop:
	@sh conf/demo.sh stop

test: deps all unit test-demo test-nginx test-e2e test-dashboard memcheck

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

test-demo:
	python3 -m unittest demo/test_app.py

test-nginx: $(MODULE) $(KERYUD)
	TEST_NGINX_BINARY=$(NGINX_BIN) \
	TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(MODULE) \
	prove $(PROVE_LIB) -r t/*.t

E2E_TESTS =	t/e2e/ t/api/

test-e2e: all
	KERYU_NGINX=$(NGINX_BIN) MODULE=$(CURDIR)/$(MODULE) \
	KERYUD=$(CURDIR)/$(KERYUD) prove $(E2E_TESTS)

# unit, Test::Nginx, e2e and API tests again, the module, keryud and the
# unit tests built with AddressSanitizer and UndefinedBehaviorSanitizer in
# their own tree; nginx runs with the runtimes preloaded
# (t/sanitize-nginx.sh).  Every report goes to a file in SAN_REPORTS, and
# any file there fails the run, even when the test around it passed.
SAN_BUILD =	build/asan
SAN_REPORTS =	$(CURDIR)/$(SAN_BUILD)/reports
SAN_PRELOAD =	$(shell $(CC) -print-file-name=libasan.so) \
		$(shell $(CC) -print-file-name=libubsan.so)
SAN_MAKE =	$(MAKE) BUILD=$(SAN_BUILD) SANITIZE=address,undefined

test-asan:
	$(SAN_MAKE) all $(patsubst $(BUILD)/%,$(SAN_BUILD)/%,$(UNIT_BINS))
	@rm -rf $(SAN_REPORTS) && mkdir -p $(SAN_REPORTS)
	@ASAN_OPTIONS=halt_on_error=1:log_path=$(SAN_REPORTS)/asan \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(SAN_REPORTS)/ubsan \
	KERYU_SAN_PRELOAD="$(SAN_PRELOAD)" KERYU_SAN_NGINX=$(NGINX_BIN) \
	TEST_NGINX_TIMEOUT=$${TEST_NGINX_TIMEOUT:-10} \
	$(SAN_MAKE) NGINX_BIN=$(CURDIR)/t/sanitize-nginx.sh \
	    unit test-nginx test-e2e; rc=$$?; \
	if [ -n "$$(ls $(SAN_REPORTS))" ]; then \
	    cat $(SAN_REPORTS)/*; echo "test-asan: sanitizer reports above"; \
	    exit 1; \
	fi; \
	exit $$rc

# screenshots of every view go to $(BUILD)/dashboard-test/
test-dashboard: $(KERYUD) dashboard
	KERYUD=$(KERYUD) DASHBOARD_DIR=$(DASHBOARD) \
	DASHBOARD_TEST_OUT=$(BUILD)/dashboard-test \
	node --test $(DASHBOARD_SRC)/test/dashboard.test.mjs

memcheck: $(MODULE)
	KERYU_NGINX=$(NGINX_BIN) sh t/memcheck.sh

bench: deps all $(BENCH_BIN)
	@bash t/bench/run.sh
	@KERYUD=$(KERYUD) CONSUME_BENCH=$(BENCH_BIN) bash t/bench/keryud.sh
	@KERYU_NGINX=$(NGINX_BIN) KERYUD=$(abspath $(KERYUD)) \
	    MODULE=$(abspath $(MODULE)) perl t/bench/visibility.pl
	@KERYU_NGINX=$(NGINX_BIN) KERYUD=$(abspath $(KERYUD)) \
	    MODULE=$(abspath $(MODULE)) bash t/bench/compare.sh

# static analysis of our C, wapiti against the demo with keryu on and off,
# testssl.sh against keryud's TLS listener; slow, so not part of "test"
scan: deps all
	@KERYU_NGINX=$(NGINX_BIN) KERYUD=$(abspath $(KERYUD)) \
	    MODULE=$(abspath $(MODULE)) bash t/scan/scan.sh

# the demo on free ports takes a brute force, credential stuffing, a path
# scan and an enumeration; prints keryud's alerts, blocks and a report
drill: deps all
	@KERYU_NGINX=$(NGINX_BIN) KERYUD=$(abspath $(KERYUD)) \
	    MODULE=$(abspath $(MODULE)) bash t/drill/drill.sh

# keryud alone: the consumer's rate and the API's latency over its store
bench-keryud: $(KERYUD) $(BENCH_BIN)
	@KERYUD=$(KERYUD) CONSUME_BENCH=$(BENCH_BIN) bash t/bench/keryud.sh

$(BUILD)/fuzz/fuzz_%: t/fuzz/fuzz_%.c $(SHARED_SRCS) $(SHARED_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(SHARED_SRCS) $(FUZZ_LIBS)

# each target for FUZZ_TIME seconds; a crash, leak or timeout stops make,
# leaving the input in $(BUILD)/fuzz/<name>-crash-* (or -leak-, -timeout-)
fuzz: $(FUZZ_BINS)
	@for b in $(FUZZ_BINS); do \
	    n=$${b##*/fuzz_}; c=$(BUILD)/fuzz/corpus/$$n; \
	    rm -rf $$c && mkdir -p $$c && \
	    if [ -d t/fuzz/corpus/$$n ]; then cp -R t/fuzz/corpus/$$n/. $$c; fi; \
	    d=; [ -f t/fuzz/$$n.dict ] && d=-dict=t/fuzz/$$n.dict; \
	    echo "== $$b, $(FUZZ_TIME) s"; \
	    $$b -max_total_time=$(FUZZ_TIME) -timeout=10 -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/$$n- $$d $$c || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(prefix)/sbin $(DESTDIR)$(prefix)/lib/nginx/modules
	install -m 0755 $(KERYUD) $(DESTDIR)$(prefix)/sbin/keryud
	install -m 0644 $(MODULE) $(DESTDIR)$(prefix)/lib/nginx/modules/
	install -d $(DESTDIR)$(prefix)/share/keryu
	install -m 0644 conf/controls.json conf/nginx-cves.json \
	    $(DESTDIR)$(prefix)/share/keryu/
	install -d $(DESTDIR)$(prefix)/share/keryu/dashboard
	install -m 0644 $(DASHBOARD)/* $(DESTDIR)$(prefix)/share/keryu/dashboard/

clean:
	rm -rf $(BUILD) t/servroot*
