.PHONY: run test bench translations

run:  ## set up and run the app on SQLite with demo data
	scripts/run.sh

test:  ## set up and run the whole test suite (SQLite, then PostgreSQL)
	scripts/test.sh

bench:  ## every benchmark (each exits 1 on a missed goal or a loss; "-" lets the others still run)
	-.venv/bin/python -m bench.live_push
	-.venv/bin/python -m bench.minutes_pdf
	-.venv/bin/python -m bench.dossier_open
	-.venv/bin/python -m bench.json_api
	-.venv/bin/python -m bench.signing
	-.venv/bin/python -m bench.scale_out
	-.venv/bin/python -m bench.year_load --processes 1
	-.venv/bin/python -m bench.year_load --processes 2

translations:
	.venv/bin/python scripts/update_translations.py
