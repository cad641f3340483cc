-- trainyard schema 7: sweeps (issue 17). One submit of the run form with
-- lists for some parameters (lr=0.001,0.003) makes one run per
-- combination, grouped as a sweep; spec is the lists as submitted.
CREATE TABLE sweeps (
	id INTEGER PRIMARY KEY,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	spec TEXT NOT NULL,
	created_at REAL NOT NULL
);
ALTER TABLE runs ADD COLUMN sweep_id INTEGER;
CREATE INDEX runs_sweep ON runs(sweep_id);
