-- trainyard schema 2: training runs and their models (the pipeline), API
-- tokens and prediction history (inference).

-- One training run: preprocess job then train job, driven by the web app.
-- Job ids are derived from the run id (run-<id>-prep, run-<id>-train), so
-- re-posting after a restart never starts work twice.
CREATE TABLE runs (
	id INTEGER PRIMARY KEY,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
	status TEXT NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'preprocessing', 'training',
		    'succeeded', 'failed', 'cancelled')),
	params_json TEXT NOT NULL,       -- the validated form, as JSON
	progress REAL NOT NULL DEFAULT 0, -- 0..1 of the current stage
	message TEXT NOT NULL DEFAULT '', -- what is happening now
	error TEXT,                       -- why it failed (names the service)
	prep_json TEXT,                   -- preprocess job result
	epochs_json TEXT,                 -- [{epoch, train_loss, ...}] so far
	metrics_json TEXT,                -- final train result
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	started_at INTEGER,
	prep_seconds REAL,
	train_seconds REAL,
	finished_at INTEGER
);
CREATE INDEX runs_project ON runs(project_id, id);
CREATE INDEX runs_status ON runs(status);

-- A trained model: made by a succeeded run, used by predict.
CREATE TABLE models (
	id INTEGER PRIMARY KEY,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	run_id INTEGER NOT NULL UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
	path TEXT NOT NULL,              -- relative to the models volume
	arch TEXT NOT NULL,
	classes_json TEXT NOT NULL,      -- ["name", ...]
	val_acc REAL,
	val_loss REAL,
	bytes INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE INDEX models_project ON models(project_id, id);

-- API tokens for programs: shown once, only a hash stored.
CREATE TABLE api_tokens (
	id INTEGER PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE, -- BLAKE2b of the token
	prefix TEXT NOT NULL,            -- first characters, to tell them apart
	created_at INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- One predict request (page or API); the image bytes are not kept.
CREATE TABLE predictions (
	id INTEGER PRIMARY KEY,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
	user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
	source TEXT NOT NULL CHECK (source IN ('page', 'api')),
	images INTEGER NOT NULL,
	results_json TEXT NOT NULL,      -- [{name, label, confidence, error}]
	ms REAL,
	created_at INTEGER NOT NULL
);
CREATE INDEX predictions_project ON predictions(project_id, id);
