-- trainyard schema 3: a dataset's inspection can be asked for again
-- ("Inspect again" on the dataset page, after a failed or abandoned
-- inspection). Each attempt gets its own job id, ds-<id>-inspect for the
-- first and ds-<id>-inspect-<n> after, because the worker keeps the record
-- of a failed job under its id and would answer with it again.
ALTER TABLE datasets ADD COLUMN inspect_attempt INTEGER NOT NULL DEFAULT 0;
