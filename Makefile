# splashtail: `make dev` runs the stack against the local Discord; `make test` runs every test.
SHELL := /bin/bash
NODE_TEST := node --import tsx --test --test-concurrency=2 --test-timeout=300000
SOURCES := $(shell find cmd internal bot webserver jobs proxy -name '*.ts' 2>/dev/null)

.PHONY: build all deps install typecheck lint test test-unit test-integration test-e2e fuzz chaos dev bench bench-full clean

build: splashtail

splashtail: node_modules/.installed build.mjs $(SOURCES)
	node build.mjs

all: deps typecheck build

# The npm dependencies, installed only when package-lock.json changed since the last install.
deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

typecheck: deps
	npx tsc --noEmit

lint: deps
	npx eslint .

# The binary, the systemd units, /etc/splashtail and the splashtail user (see deploy/install.sh);
# `make install DESTDIR=<root>` stages a package instead (a sysusers.d file, no user created).
# Does not build: run `make` first, as yourself.
install:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" ./deploy/install.sh

config.yaml:
	cp config.yaml.example config.yaml

dev: build config.yaml
	./splashtail dev --config config.yaml

# Every test but the chaos suite (`make chaos`).
test: typecheck lint build
	$(NODE_TEST) $$(find test -path test/chaos -prune -o -name '*.test.ts' -print | sort)

test-unit: build
	$(NODE_TEST) $$(find test/unit -name '*.test.ts' | sort)

test-integration: build
	$(NODE_TEST) $$(find test/integration -name '*.test.ts' | sort)

test-e2e: build
	$(NODE_TEST) $$(find test/e2e -name '*.test.ts' | sort)

# The fuzz suites with 10x the inputs `make test` gives them (FUZZ_SEED=<n> replays a failure).
fuzz: build
	FUZZ_RUNS=2000 $(NODE_TEST) $$(find test/fuzz -name '*.test.ts' | sort)

# kill -9, 30 s outages of private Redis/RabbitMQ/Postgres and SIGSTOP under load; prints a table (~8 min).
chaos: build
	$(NODE_TEST) --test-concurrency=1 --test-timeout=900000 $$(find test/chaos -name '*.test.ts' | sort)

bench: build
	@for b in $$(find bench -name '*.bench.ts' | sort); do echo "== $$b"; node --import tsx $$b || exit 1; done

# The same with the long figures too (proxy memory at 50,000 guilds, the direct 16-shard start).
bench-full:
	@BENCH_FULL=1 $(MAKE) --no-print-directory bench

clean:
	rm -rf splashtail splashtail.pieces.json node_modules
