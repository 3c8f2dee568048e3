# The two commands of the README. Both set up what is missing first (scripts/bootstrap.sh).
.PHONY: run test bench check

run:
	@scripts/bootstrap.sh run
	.venv/bin/runwatch run $(ARGS)

test:
	@scripts/bootstrap.sh test
	CI=$${CI:-} .venv/bin/pytest $(ARGS)

bench:
	@scripts/bootstrap.sh bench
	@for b in bench/*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done

check:
	@scripts/bootstrap.sh test
	.venv/bin/mypy
