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
DB_STMT(LOGINFAIL_COUNT_PAIR,
        "SELECT count(*), coalesce(min(at), 0) FROM login_failures "
        "WHERE username = ? AND ip = ? AND at > ?")
DB_STMT(LOGINFAIL_LAST_USER,
        "SELECT count(*), coalesce(max(at), 0) FROM login_failures "
        "WHERE username = ? AND at > ?")
DB_STMT(LOGINFAIL_COUNT_IP,
        "SELECT count(*), coalesce(min(at), 0) FROM login_failures "
        "WHERE ip = ? AND at > ?")
DB_STMT(LOGINFAIL_CLEAR_PAIR,
        "DELETE FROM login_failures WHERE username = ? AND ip = ?")
DB_STMT(LOGINFAIL_PURGE, "DELETE FROM login_failures WHERE at <= ?")
/* projects */
DB_STMT(PROJECT_INSERT,
        "INSERT INTO projects (owner_id, name, description, created_at) "
        "VALUES (?, ?, ?, ?)")
/* a whole projects row p with its dataset count, read by projrow_read
 * (projrow.c) in this order */
#define PROJECT_COLS                                                           \
	"p.id, p.name, p.description, p.created_at, "                          \
	"(SELECT count(*) FROM datasets d WHERE d.project_id = p.id), "        \
	"p.owner_id "
DB_STMT(PROJECT_LIST,
        "SELECT " PROJECT_COLS "FROM projects p WHERE p.owner_id = ? "
        "ORDER BY p.created_at DESC, p.id DESC")
DB_STMT(PROJECT_GET, "SELECT " PROJECT_COLS "FROM projects p "
                     "WHERE p.id = ? AND p.owner_id = ?")
DB_STMT(PROJECT_DELETE, "DELETE FROM projects WHERE id = ? AND owner_id = ?")
/* datasets */
DB_STMT(DATASET_INSERT,
        "INSERT INTO datasets (project_id, filename, path, bytes, sha256, "
        "created_at) VALUES (?, ?, '', ?, ?, ?)")
DB_STMT(DATASET_SET_PATH, "UPDATE datasets SET path = ? WHERE id = ?")
/* a whole datasets row, read by dsrow_read (dsrow.c) in this order */
#define DATASET_COLS                                                           \
	"id, project_id, filename, bytes, sha256, status, created_at, "        \
	"coalesce(report_json, ''), coalesce(error, ''), path, "               \
	"inspect_attempt "
DB_STMT(DATASET_LIST,
        "SELECT " DATASET_COLS "FROM datasets WHERE project_id = ? "
        "ORDER BY id DESC")
DB_STMT(DATASET_BY_SHA,
        "SELECT id FROM datasets WHERE project_id = ? AND sha256 = ? "
        "ORDER BY id LIMIT 1")
DB_STMT(DATASET_NAME,
        "SELECT filename FROM datasets WHERE id = ? AND project_id = ?")
DB_STMT(DATASET_RENAME,
        "UPDATE datasets SET filename = ? WHERE id = ? AND project_id = ?")
/* a dataset runs trained on stays: deleting it would take their models */
DB_STMT(DATASET_DELETE,
        "DELETE FROM datasets WHERE id = ? AND project_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM runs WHERE runs.dataset_id = datasets.id)")
DB_STMT(DATASET_RUNS,
        "SELECT coalesce(number, id), status IN ('queued', 'preprocessing', "
        "'training') FROM runs WHERE dataset_id = ? AND project_id = ? "
        "ORDER BY id")
DB_STMT(DATASET_IDS_OF_PROJECT, "SELECT id FROM datasets WHERE project_id = ?")
DB_STMT(DATASET_OF_PROJECT,
        "SELECT count(*) FROM datasets WHERE id = ? AND project_id = ?")
/* dataset inspection and health (inspect.c, page_dataset_health.c) */
DB_STMT(DATASET_GET,
        "SELECT " DATASET_COLS "FROM datasets WHERE id = ? AND project_id = ?")
DB_STMT(DATASET_PENDING,
        "SELECT " DATASET_COLS "FROM datasets "
        "WHERE status IN ('uploaded', 'inspecting') ORDER BY id")
DB_STMT(DATASET_REINSPECT,
        "UPDATE datasets SET status = 'uploaded', error = NULL, "
        "inspect_attempt = inspect_attempt + 1 WHERE id = ? AND project_id = ? "
        "AND status = 'unusable' AND report_json IS NULL")
DB_STMT(DATASET_SET_INSPECTING,
        "UPDATE datasets SET status = 'inspecting' WHERE id = ? "
        "AND status = 'uploaded'")
DB_STMT(DATASET_SET_RESULT,
        "UPDATE datasets SET status = ?, report_json = ?, error = ? "
        "WHERE id = ? AND status IN ('uploaded', 'inspecting')")
/* models, predictions (page_predict.c, api.c) */
/* a whole models row, read by modelrow_read (modelrow.c) in this order */
#define MODEL_COLS                                                             \
	"id, project_id, run_id, arch, val_acc, classes_json, path, bytes, "   \
	"created_at, "                                                         \
	"coalesce((SELECT number FROM runs WHERE runs.id = run_id), run_id) "
DB_STMT(MODEL_LIST, "SELECT " MODEL_COLS
                    "FROM models WHERE project_id = ? ORDER BY id DESC")
DB_STMT(MODEL_GET,
        "SELECT " MODEL_COLS "FROM models WHERE id = ? AND project_id = ?")
DB_STMT(PREDICTION_INSERT,
        "INSERT INTO predictions (project_id, model_id, user_id, source, "
        "images, results_json, ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
/* keeps the newest ?2 rows of project ?1 */
DB_STMT(PREDICTION_PRUNE,
        "DELETE FROM predictions WHERE project_id = ?1 AND id <= (SELECT id "
        "FROM predictions WHERE project_id = ?1 ORDER BY id DESC LIMIT 1 "
        "OFFSET ?2)")
/* a predictions row, read by history_row (predict.c) in this order */
#define PREDICTION_COLS                                                        \
	"id, model_id, source, images, results_json, ms, created_at "
DB_STMT(PREDICTION_RECENT,
        "SELECT " PREDICTION_COLS "FROM predictions WHERE project_id = ? "
        "ORDER BY id DESC LIMIT ?")
/* the account page's API examples: the user's newest model */
DB_STMT(
    MODEL_NEWEST_OF_USER,
    "SELECT m.id, p.id, p.name FROM models m JOIN projects p "
    "ON p.id = m.project_id WHERE p.owner_id = ? ORDER BY m.id DESC LIMIT 1")
/* API tokens (tok.c, page_account.c) */
DB_STMT(TOKEN_INSERT,
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, "
        "created_at) VALUES (?, ?, ?, ?, ?)")
/* a whole api_tokens row t with its owner's name, read by tokrow_read
 * (tokrow.c) in this order */
#define TOKEN_COLS                                                             \
	"t.id, t.user_id, t.name, t.prefix, t.created_at, "                    \
	"coalesce(t.last_used_at, 0), coalesce(t.revoked_at, 0), "             \
	"u.username FROM api_tokens t JOIN users u ON u.id = t.user_id "
DB_STMT(TOKEN_LIST,
        "SELECT " TOKEN_COLS "WHERE t.user_id = ? ORDER BY t.id DESC")
DB_STMT(TOKEN_NAME, "SELECT name FROM api_tokens WHERE id = ? AND user_id = ? "
                    "AND revoked_at IS NULL")
DB_STMT(TOKEN_OWNED,
        "SELECT count(*) FROM api_tokens WHERE id = ? AND user_id = ?")
DB_STMT(TOKEN_REVOKE,
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? "
        "AND revoked_at IS NULL")
DB_STMT(TOKEN_LOOKUP, "SELECT " TOKEN_COLS "WHERE t.token_hash = ?")
/* at most one write a minute per token: "last used" needs no more */
DB_STMT(TOKEN_TOUCH, "UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2 "
                     "AND coalesce(last_used_at, 0) < ?1 - 60")
/* runs and models (the pipeline: app/pipeline.c, app/page_run*.c) */
#define RUN_COLS                                                               \
	"id, project_id, dataset_id, status, params_json, progress, "          \
	"message, coalesce(error, ''), coalesce(prep_json, ''), "              \
	"coalesce(epochs_json, ''), coalesce(metrics_json, ''), "              \
	"cancel_requested, created_at, coalesce(started_at, 0), "              \
	"coalesce(prep_seconds, -1), coalesce(train_seconds, -1), "            \
	"coalesce(finished_at, 0), coalesce(number, id), name, note, "         \
	"owner "
DB_STMT(
    RUN_INSERT,
    "INSERT INTO runs (id, project_id, dataset_id, params_json, created_at, "
    "message) VALUES ((SELECT n + 1 FROM run_seq), ?, ?, ?, ?, "
    "'waiting for its turn')")
DB_STMT(RUN_GET, "SELECT " RUN_COLS "FROM runs WHERE id = ? AND project_id = ?")
/* sweeps: runs made by one submit with lists (app/sweep.c) */
DB_STMT(SWEEP_INSERT,
        "INSERT INTO sweeps (project_id, spec, created_at) VALUES (?, ?, ?)")
DB_STMT(RUN_SET_SWEEP, "UPDATE runs SET sweep_id = ? WHERE id = ?")
DB_STMT(SWEEP_GET, "SELECT spec, created_at FROM sweeps "
                   "WHERE id = ? AND project_id = ?")
DB_STMT(SWEEP_RUN_IDS, "SELECT id FROM runs WHERE sweep_id = ? "
                       "AND project_id = ? ORDER BY id")
DB_STMT(RUN_LIST,
        "SELECT " RUN_COLS "FROM runs WHERE project_id = ? ORDER BY id DESC")
DB_STMT(RUN_ACTIVE,
        "SELECT " RUN_COLS "FROM runs WHERE status IN ('preprocessing', "
        "'training') ORDER BY id")
DB_STMT(RUN_ACTIVE_COUNT,
        "SELECT count(*) FROM runs WHERE status IN ('preprocessing', "
        "'training')")
/* GET /metrics (page_ops.c) */
DB_STMT(RUN_COUNT_BY_STATUS,
        "SELECT status, count(*) FROM runs GROUP BY status")
DB_STMT(RUN_ACTIVE_OLDEST,
        "SELECT coalesce(min(started_at), 0) FROM runs WHERE status IN "
        "('preprocessing', 'training')")
/* the queue and its owners' load (runqueue.c) */
DB_STMT(RUN_QUEUE,
        "SELECT r.id, p.owner_id FROM runs r JOIN projects p ON p.id = "
        "r.project_id WHERE r.status = 'queued' ORDER BY r.id")
DB_STMT(RUN_OWNER_LOAD,
        "SELECT p.owner_id, sum(r.status IN ('preprocessing', 'training')), "
        "max(coalesce(r.started_at, 0)) FROM runs r JOIN projects p ON "
        "p.id = r.project_id WHERE p.owner_id IN (SELECT q.owner_id FROM "
        "runs s JOIN projects q ON q.id = s.project_id WHERE s.status = "
        "'queued') GROUP BY p.owner_id")
DB_STMT(RUN_QUEUED_CANCELLED,
        "UPDATE runs SET status = 'cancelled', message = 'cancelled before "
        "it started', finished_at = ? WHERE status = 'queued' AND "
        "cancel_requested = 1")
DB_STMT(RUN_START, "UPDATE runs SET status = 'preprocessing', started_at = ?, "
                   "progress = 0, message = 'starting preprocessing' "
                   "WHERE id = ? AND status = 'queued'")
DB_STMT(RUN_PROGRESS, "UPDATE runs SET progress = ?, message = ? WHERE id = ?")
DB_STMT(RUN_PREP_DONE,
        "UPDATE runs SET status = 'training', prep_json = ?, prep_seconds = ?, "
        "progress = 0, message = 'starting training' "
        "WHERE id = ? AND status = 'preprocessing'")
DB_STMT(RUN_EPOCHS, "UPDATE runs SET epochs_json = ? WHERE id = ?")
/* the train replica the run was placed on (app/place.c) */
DB_STMT(RUN_SET_OWNER, "UPDATE runs SET owner = ?, placed_at = ? WHERE id = ?")
DB_STMT(RUN_SUCCEED,
        "UPDATE runs SET status = 'succeeded', progress = 1, message = 'done', "
        "metrics_json = ?, epochs_json = ?, train_seconds = ?, finished_at = ? "
        "WHERE id = ? AND status = 'training'")
DB_STMT(RUN_FAIL,
        "UPDATE runs SET status = 'failed', error = ?, message = 'failed', "
        "finished_at = ? WHERE id = ? AND status IN ('queued', "
        "'preprocessing', 'training')")
DB_STMT(RUN_SET_CANCELLED,
        "UPDATE runs SET status = 'cancelled', message = ?, finished_at = ? "
        "WHERE id = ? AND status IN ('queued', 'preprocessing', 'training')")
DB_STMT(RUN_CANCEL_REQ,
        "UPDATE runs SET cancel_requested = 1 WHERE id = ? AND project_id = ? "
        "AND status IN ('queued', 'preprocessing', 'training')")
DB_STMT(RUN_DELETE,
        "DELETE FROM runs WHERE id = ? AND project_id = ? AND status NOT IN "
        "('queued', 'preprocessing', 'training')")
DB_STMT(RUN_IDS_OF_PROJECT, "SELECT id FROM runs WHERE project_id = ?")
DB_STMT(RUN_DESCRIBE,
        "UPDATE runs SET name = ?, note = ? WHERE id = ? AND project_id = ?")
DB_STMT(RUN_NUMBER,
        "SELECT coalesce(number, id) FROM runs WHERE id = ? AND project_id = ?")
DB_STMT(RUN_OF_PROJECT,
        "SELECT count(*) FROM runs WHERE id = ? AND project_id = ?")
DB_STMT(RUN_DATASET_GET,
        "SELECT path, status, coalesce(report_json, ''), filename, "
        "coalesce(error, '') FROM datasets WHERE id = ? AND project_id = ?")
DB_STMT(RUN_DATASETS_READY,
        "SELECT id, filename, coalesce(report_json, '') FROM datasets "
        "WHERE project_id = ? AND status = 'ready' ORDER BY id DESC")
DB_STMT(RUN_MODEL_INSERT,
        "INSERT OR IGNORE INTO models (project_id, run_id, path, arch, "
        "classes_json, val_acc, val_loss, bytes, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
DB_STMT(
    RUN_MODEL_OF_RUN,
    "SELECT id, path, bytes FROM models WHERE run_id = ? AND project_id = ?")
/* export routes: the run's model, what its file says about it */
DB_STMT(RUN_MODEL_EXPORT,
        "SELECT path, arch, coalesce(val_acc, -1) FROM models "
        "WHERE run_id = ? AND project_id = ?")
DB_STMT(RUN_MODEL_LIST, "SELECT " MODEL_COLS "FROM models WHERE project_id = ? "
                        "ORDER BY coalesce(val_acc, -1) DESC, id DESC")
