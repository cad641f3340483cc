-- trainyard schema 1: accounts, projects, dataset uploads.
-- Applied once, inside a transaction, by db_open(); PRAGMA user_version
-- records that it ran. Never edit a migration that has shipped: add the
-- next NNN_name.sql instead.

CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	username TEXT NOT NULL UNIQUE COLLATE NOCASE,
	pwhash TEXT NOT NULL,          -- crypto_pwhash_str (argon2id)
	created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
	id INTEGER PRIMARY KEY,
	token_hash BLOB NOT NULL UNIQUE, -- BLAKE2b of the cookie token
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	csrf TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- Failed logins, for throttling; old rows are pruned as new ones come.
CREATE TABLE login_failures (
	id INTEGER PRIMARY KEY,
	username TEXT NOT NULL COLLATE NOCASE,
	ip TEXT NOT NULL,
	at INTEGER NOT NULL
);
CREATE INDEX login_failures_user ON login_failures(username, at);
CREATE INDEX login_failures_ip ON login_failures(ip, at);

CREATE TABLE projects (
	id INTEGER PRIMARY KEY,
	owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);
CREATE INDEX projects_owner ON projects(owner_id);

CREATE TABLE datasets (
	id INTEGER PRIMARY KEY,
	project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	filename TEXT NOT NULL,          -- sanitised original name
	path TEXT NOT NULL,              -- relative to the data volume
	bytes INTEGER NOT NULL,
	sha256 TEXT NOT NULL,            -- hex
	-- inspection by the preprocess worker fills these in
	status TEXT NOT NULL DEFAULT 'uploaded'
		CHECK (status IN ('uploaded', 'inspecting', 'ready', 'unusable')),
	report_json TEXT,
	error TEXT,
	created_at INTEGER NOT NULL
);
CREATE INDEX datasets_project ON datasets(project_id);
