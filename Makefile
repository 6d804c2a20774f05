# Customer Center — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.lock | cut -d' ' -f1)

# Production-like variables for `check --deploy` (never used to serve anything).
DEPLOY_ENV := DEBUG=false \
	SECRET_KEY=check-deploy-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH \
	ALLOWED_HOSTS=portal.example.com \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_center \
	REDIS_URL=redis://127.0.0.1:6379/0 \
	EMAIL_URL=smtp+tls://user:pass@smtp.example.com:587 \
	DEFAULT_FROM_EMAIL=billing@example.com \
	STRIPE_SECRET_KEY=sk_live_check_deploy_only \
	STRIPE_PUBLISHABLE_KEY=pk_live_check_deploy_only \
	STRIPE_WEBHOOK_SECRET=whsec_check_deploy_only

.PHONY: run test lint format lock clean bench load

$(STAMP): requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py serve_dev

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	env $(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/python -m pytest --ignore=tests/faults $(PYTEST_ARGS)
	# Fault tests break process-wide things on purpose (the Celery broker, workers, the
	# database connection): each file runs in a process of its own.
	for file in tests/faults/test_*.py; do $(BIN)/python -m pytest "$$file" || exit 1; done

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks print figures, they assert nothing; they need a local PostgreSQL and
# DATABASE_URL naming the throwaway cc_bench database (bench/README.md).
bench: $(STAMP)
	$(BIN)/python -m bench.invoices $(BENCH_ARGS)

# Load test (not in CI): gunicorn with production settings on the throwaway cc_load database,
# Redis db 9 and the Stripe emulator, loopback only, about 5 minutes (bench/README.md).
LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cc_load
LOAD_REDIS_URL ?= redis://127.0.0.1:6379/9
load: $(STAMP)
	DATABASE_URL=$(LOAD_DATABASE_URL) REDIS_URL=$(LOAD_REDIS_URL) $(BIN)/python -m bench.load $(LOAD_ARGS)

# Re-resolve the pinned versions from pyproject.toml's ranges.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet ".[dev]"
	{ echo "# Exact versions every machine installs (make installs from this file)."; \
	  echo "# Regenerate: make lock"; \
	  .lock-venv/bin/pip freeze --all --exclude customer-center \
	    | grep -viE '^(pip|setuptools|wheel)==' \
	    | sed 's/^pgserver==\(.*\)$$/pgserver==\1; python_version < "3.13"/'; } > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .artifacts staticfiles
