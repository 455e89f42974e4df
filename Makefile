# Thin wrapper: everything lives in tasks.py so a machine without make works too.
.PHONY: demo test serve bench lint
demo:
	python3 tasks.py demo
test:
	python3 tasks.py test
serve:
	python3 tasks.py serve
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
bench:
	python3 -c 'import tasks; tasks.ensure_venv()' && .venv/bin/python -m bench.all
