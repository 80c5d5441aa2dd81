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

.PHONY: all setup setup-rust setup-apt setup-python plugins plugins-rust plugins-python check-plugins build test demo bench clean-cache

all: build

## ---------------------------------------------------------------- setup
setup: setup-rust setup-apt setup-python

setup-rust:
	@if ! rustup target list --installed | grep -qx wasm32-wasip2; then \
	  echo "==> installing the Rust target wasm32-wasip2 (plugins are built for it)"; \
	  rustup target add wasm32-wasip2; \
	fi

# Debian packages: tshark (captures), Go + quic-go 0.29 sources (a real IUT), cmake/clang for
# quiche's BoringSSL, debootstrap for the Docker base image.
APT_PACKAGES := tshark golang-go golang-github-lucas-clemente-quic-go-dev cmake clang libclang-dev debootstrap iproute2 procps
setup-apt:
	@mkdir -p $(STAMPS)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "==> installing Debian packages:" $$missing; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# One venv for componentize-py (the Python plugin) and aioquic (a real IUT).
PY_PACKAGES := componentize-py==0.25.1 aioquic==1.2.0 dnslib httpx jinja2 starlette wsproto
setup-python:
	@mkdir -p $(STAMPS)
	@want="$(PY_PACKAGES)"; if [ "$$(cat $(STAMPS)/venv 2>/dev/null)" != "$$want" ]; then \
	  echo "==> making the Python venv $(VENV) ($(PY_PACKAGES))"; \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install -q --disable-pip-version-check $(PY_PACKAGES) && echo "$$want" > $(STAMPS)/venv; \
	fi

## ---------------------------------------------------------------- plugins
plugins: plugins-rust plugins-python

plugins-rust: setup-rust
	@echo "==> building the Rust plugins (wasm32-wasip2) into plugins-dist/"
	@plugins-src/build-rust.sh

plugins-python: setup-python
	@echo "==> building the Python plugins with componentize-py into plugins-dist/"
	@VENV=$(VENV) plugins-src/build-python.sh

# Fails when a committed component no longer matches what its source builds to.
check-plugins: plugins-rust
	@plugins-src/check-lock.sh

## ---------------------------------------------------------------- host
build:
	@echo "==> building panther-host"
	@$(CARGO) build -p panther-host

test: setup plugins check-plugins
	@echo "==> running the test suite"
	@$(CARGO) test --workspace --no-fail-fast

demo: setup plugins build
	@echo "==> running experiments/demo.toml"
	@$(HOST_BIN) run experiments/demo.toml

bench: setup plugins
	@$(CARGO) build --release -p panther-host
	@target/release/panther-host bench --out docs/BENCHMARKS.md

clean-cache:
	rm -rf $(PANTHER_CACHE)
