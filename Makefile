# The two commands of the README: `make demo` and `make test`. Everything they need is installed
# here, so they work on a fresh clone (a Debian machine with Python 3.11+).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000
PRESET ?= full
HISTORY_DAYS ?= 14

.PHONY: demo test venv redis-server wrk chromium lint bench bench-gpu clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Tests start their own redis-server; install Debian's package when the binary is missing.
redis-server:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (Debian package)" >&2; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; }

# The coupon route's HTTP benchmark drives load with wrk (Debian package), installed when missing.
wrk:
	@command -v wrk >/dev/null || { \
	  echo "installing wrk (Debian package)" >&2; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }

# Browser tests drive Debian's Chromium through Playwright (no browser download by Playwright); the
# screen pages need a CJK font for item names in Chinese (a test fails on missing glyphs).
chromium:
	@{ command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; } && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || { \
	  echo "installing chromium and fonts-noto-cjk (Debian packages) for the browser tests" >&2; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
	  || echo "chromium or fonts-noto-cjk could not be installed: browser tests will be skipped or fail" >&2; }

test: $(STAMP) redis-server chromium
	$(PY) -m pytest -q -p no:cacheprovider

demo: $(STAMP)
	$(PY) -m screens.cli demo --port $(PORT) --preset $(PRESET) --history-days $(HISTORY_DAYS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict screens kiosk_client

# Every benchmark of docs/benchmarks.md, one after the other, with a private redis-server.
BENCH_REDIS_PORT ?= 6399
bench: $(STAMP) redis-server wrk
	redis-server --port $(BENCH_REDIS_PORT) --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
	$(PY) -m screens.cli bench upload --rows 100000 --repeats 3
	$(PY) -m screens.cli bench memory --upload-mib 50 --bomb-side 20000 --bombs 3
	$(PY) -m screens.cli bench events --total 50000 --batch 500
	$(PY) -m screens.cli bench events --total 50000 --batch 500 --redis-url redis://127.0.0.1:$(BENCH_REDIS_PORT)/0
	$(PY) -m screens.cli bench coupons --workers 2 --connections 4 --duration 15 --rounds 3 --baseline \
	  --redis-url redis://127.0.0.1:$(BENCH_REDIS_PORT)/0
	$(PY) -m screens.cli bench analytics --sizes 100000,1000000 --bulk
	$(PY) -m recsys.lab.leadin_bench
	$(PY) -m recsys.lab.mirror_bench
	$(PY) -m screens.cli vision bench --device auto --streams 1,2,4 --seconds 4
	redis-cli -p $(BENCH_REDIS_PORT) shutdown nosave

# The prepared GPU run (docs/benchmarks.md#gpu): CUDA and CPU figures of the real models in one JSON document.
GPU_WHEELS ?= var/gpu-wheels
bench-gpu: $(STAMP)
	PYTHON=$(PY) bash scripts/bench_gpu.sh $(GPU_WHEELS) var/bench-gpu

clean:
	rm -rf $(VENV) var .pytest_cache
