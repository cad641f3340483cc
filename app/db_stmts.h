/*
 * db_stmts.h — every SQL statement of the web app: one row per statement,
 * DB_STMT(NAME, "fixed SQL text"). The X-macro makes both the enum
 * (DB_NAME) and the text table, so a new statement is one new row here.
 * All values are bound with ?; no SQL is ever built from strings.
 */
/* accounts */
DB_STMT(USER_INSERT,
    "INSERT INTO users (username, pwhash, created_at) VALUES (?, ?, ?)")
DB_STMT(USER_BY_NAME,
    "SELECT id, username, pwhash FROM users WHERE username = ?")
DB_STMT(USER_COUNT, "SELECT count(*) FROM users")
DB_STMT(SESSION_INSERT,
    "INSERT INTO sessions (token_hash, user_id, csrf, created_at, "
    "expires_at) VALUES (?, ?, ?, ?, ?)")
DB_STMT(SESSION_LOOKUP,
    "SELECT s.user_id, u.username, s.csrf, s.expires_at FROM sessions s "
    "JOIN users u ON u.id = s.user_id "
    "WHERE s.token_hash = ? AND s.expires_at > ?")
DB_STMT(SESSION_DELETE, "DELETE FROM sessions WHERE token_hash = ?")
DB_STMT(SESSION_PURGE, "DELETE FROM sessions WHERE expires_at <= ?")
DB_STMT(LOGINFAIL_INSERT,
    "INSERT INTO login_failures (username, ip, at) VALUES (?, ?, ?)")
DB_STMT(LOGINFAIL_COUNT_USER,
    "SELECT count(*), coalesce(min(at), 0) FROM login_failures "
    "WHERE username = ? AND at > ?")
DB_STMT(LOGINFAIL_COUNT_IP,
    "SELECT count(*), coalesce(min(at), 0) FROM login_failures "
    "WHERE ip = ? AND at > ?")
DB_STMT(LOGINFAIL_CLEAR_USER, "DELETE FROM login_failures WHERE username = ?")
DB_STMT(LOGINFAIL_PURGE, "DELETE FROM login_failures WHERE at <= ?")
/* projects */
DB_STMT(PROJECT_INSERT,
    "INSERT INTO projects (owner_id, name, description, created_at) "
    "VALUES (?, ?, ?, ?)")
DB_STMT(PROJECT_LIST,
    "SELECT p.id, p.name, p.description, p.created_at, "
    "(SELECT count(*) FROM datasets d WHERE d.project_id = p.id) "
    "FROM projects p WHERE p.owner_id = ? ORDER BY p.created_at DESC, "
    "p.id DESC")
DB_STMT(PROJECT_GET,
    "SELECT id, name, description, created_at FROM projects "
    "WHERE id = ? AND owner_id = ?")
DB_STMT(PROJECT_DELETE, "DELETE FROM projects WHERE id = ? AND owner_id = ?")
/* datasets */
DB_STMT(DATASET_INSERT,
    "INSERT INTO datasets (project_id, filename, path, bytes, sha256, "
    "created_at) VALUES (?, ?, '', ?, ?, ?)")
DB_STMT(DATASET_SET_PATH, "UPDATE datasets SET path = ? WHERE id = ?")
DB_STMT(DATASET_LIST,
    "SELECT id, filename, bytes, sha256, status, created_at, "
    "coalesce(error, '') FROM datasets WHERE project_id = ? "
    "ORDER BY id DESC")
DB_STMT(DATASET_IDS_OF_PROJECT,
    "SELECT id FROM datasets WHERE project_id = ?")
