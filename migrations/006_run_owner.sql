-- trainyard schema 6: which train replica runs a run (docs/deploy.md,
-- Placement). owner is the replica's stable base URL, chosen by the web
-- app when the train stage starts ('' until then); the train job is
-- followed there. placed_at is when it was (re)placed.
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN placed_at REAL NOT NULL DEFAULT 0;
