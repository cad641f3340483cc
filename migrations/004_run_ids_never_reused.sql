-- trainyard schema 4: run ids are never reused.
-- Worker job ids and volume paths are derived from the run id
-- (run-<id>-prep, prepared/<id>, runs/<id>), and a worker keeps its job
-- records: a new run that got the id of a deleted one would be answered
-- with the old run's finished jobs. runs.id is a plain INTEGER PRIMARY KEY
-- (SQLite reuses the largest id after a delete), so the highest id ever
-- given is kept here and RUN_INSERT takes the next one.
CREATE TABLE run_seq (n INTEGER NOT NULL);
INSERT INTO run_seq (n) SELECT coalesce(max(id), 0) FROM runs;
CREATE TRIGGER run_seq_bump AFTER INSERT ON runs
BEGIN
	UPDATE run_seq SET n = max(n, NEW.id);
END;
