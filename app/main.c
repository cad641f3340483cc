/*
 * main.c — trainyard-web: configuration, start-up, and a clean stop.
 *
 * Every setting is an environment variable or the matching flag (see
 * DESIGN.md): --port, --data-dir, --models-dir, --db, --max-upload-mb, the
 * worker URLs, and --web-root (the directory holding views/, static/ and
 * migrations/). SIGTERM or SIGINT stops taking connections, lets requests
 * in flight finish, then closes the database.
 */
#include <civetweb.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acct.h"
#include "auth.h"
#include "db.h"
#include "inspect.h"
#include "pages.h"
#include "pipeline.h"
#include "route.h"
#include "stack.h"
#include "upload.h"
#include "view.h"
#include "web.h"

static volatile sig_atomic_t stop_signal;

/* CivetWeb's threads get at least this much stack (stack.h says why). */
#define WEB_STACK_MIN (1024 * 1024)

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static int
log_message(const struct mg_connection *conn, const char *msg)
{
	ty_log("civetweb: %s", msg);
	return 1;
}

static int
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * The web root: the flag/variable if given, else the first of ., the
 * program's directory and its parents that has views/layout.html (so a
 * binary in build/x/bin finds the checkout's views).
 */
static char *
find_root(int argc, char **argv)
{
	const char *root = cfg_str(argc, argv, "TRAINYARD_WEB_ROOT", NULL);
	char exe[4096], *p, *probe;
	ssize_t n;

	if (root)
		return xstrdup(root);
	if (is_file("views/layout.html"))
		return xstrdup(".");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 5 && (p = strrchr(exe, '/')); up++) {
			*p = '\0';
			probe = xasprintf("%s/views/layout.html", exe);
			if (is_file(probe)) {
				free(probe);
				return xstrdup(exe);
			}
			free(probe);
		}
	}
	return xstrdup(".");
}

static char *
dir_of(const char *path)
{
	char *d = xstrdup(path), *slash = strrchr(d, '/');

	if (!slash) {
		free(d);
		return xstrdup(".");
	}
	*slash = '\0';
	return d;
}

int
main(int argc, char **argv)
{
	/* static: what an early error return leaves is still reachable,
	 * so LeakSanitizer does not report it. */
	static struct web w;
	struct mg_callbacks cb;
	struct mg_context *ctx;
	char err[512], port[80], threads[16], timeout[24], *dbdir, *path;
	const char *listen_addr;
	static char *root;
	const char *db_path, *admin, *admin_pw;
	long p, grace, nthreads;
	struct sigaction sa;

	ty_set_progname("trainyard-web");
	if (sodium_init() < 0) {
		ty_log("libsodium failed to start");
		return 1;
	}
	memset(&w, 0, sizeof(w));
	w.started = util_now();
	root = find_root(argc, argv);
	w.root = root;
	w.data_dir = cfg_str(argc, argv, "TRAINYARD_DATA_DIR", "./var/data");
	w.models_dir =
	    cfg_str(argc, argv, "TRAINYARD_MODELS_DIR", "./var/models");
	db_path = cfg_str(argc, argv, "TRAINYARD_DB", "./var/db/trainyard.db");
	w.preprocess_url = cfg_str(argc, argv, "TRAINYARD_PREPROCESS_URL",
	                           "http://127.0.0.1:8081");
	w.train_url =
	    cfg_str(argc, argv, "TRAINYARD_TRAIN_URL", "http://127.0.0.1:8082");
	w.infer_url =
	    cfg_str(argc, argv, "TRAINYARD_INFER_URL", "http://127.0.0.1:8083");
	w.max_upload_mb = cfg_long(argc, argv, "TRAINYARD_MAX_UPLOAD_MB", 512);
	w.cookie_secure = cfg_long(argc, argv, "TRAINYARD_COOKIE_SECURE", 0);
	w.allow_signup = cfg_long(argc, argv, "TRAINYARD_ALLOW_SIGNUP", 1);
	w.session_hours = cfg_long(argc, argv, "TRAINYARD_SESSION_HOURS", 336);
	w.predictions_keep =
	    cfg_long(argc, argv, "TRAINYARD_PREDICTIONS_KEEP", 1000);
	if (w.predictions_keep < 1)
		w.predictions_keep = 1000;
	w.metrics_token = cfg_str(argc, argv, "TRAINYARD_METRICS_TOKEN", NULL);
	if (w.metrics_token && !*w.metrics_token)
		w.metrics_token = NULL;
	pace_config(argc, argv, &w.body_min_rate, &w.body_window_s);
	if (clientip_parse(
	        cfg_str(argc, argv, "TRAINYARD_TRUSTED_PROXIES", NULL),
	        &w.trusted_proxies, err, sizeof(err)) < 0) {
		ty_log("bad TRAINYARD_TRUSTED_PROXIES: %s", err);
		return 2;
	}
	/* Sent on every call to a worker (workers.c); they require it. */
	auth_set_service_token(
	    cfg_str(argc, argv, "TRAINYARD_SERVICE_TOKEN", NULL));
	if (!auth_service_token())
		ty_log("no TRAINYARD_SERVICE_TOKEN: workers that require one "
		       "will refuse this app's calls");
	p = cfg_long(argc, argv, "TRAINYARD_PORT", 8080);
	if (w.max_upload_mb < 1 || w.max_upload_mb > 1024 * 1024 || p < 1 ||
	    p > 65535 || w.session_hours < 1) {
		ty_log("bad configuration: port must be 1-65535, "
		       "max upload MB and session hours positive");
		return 2;
	}
	w.max_upload_bytes = (long long)w.max_upload_mb * 1024 * 1024;

	dbdir = dir_of(db_path);
	path = xasprintf("%s/uploads", w.data_dir);
	if (util_mkdirs(dbdir, 0755) < 0 || util_mkdirs(path, 0755) < 0 ||
	    util_mkdirs(w.models_dir, 0755) < 0) {
		ty_log("cannot create %s, %s or %s: %s", dbdir, path,
		       w.models_dir, strerror(errno));
		return 1;
	}
	free(dbdir);
	free(path);
	upload_clean_incoming(&w);

	path = xasprintf("%s/migrations", root);
	w.db = db_open(db_path, path, err, sizeof(err));
	free(path);
	if (!w.db) {
		ty_log("%s", err);
		return 1;
	}
	path = xasprintf("%s/views", root);
	if (view_load_all(path, err, sizeof(err)) < 0) {
		ty_log("%s", err);
		return 1;
	}
	free(path);
	path = xasprintf("%s/static", root);
	if (page_static_load(path, err, sizeof(err)) < 0) {
		ty_log("%s", err);
		return 1;
	}
	free(path);
	admin = cfg_str(argc, argv, "TRAINYARD_ADMIN_USER", NULL);
	admin_pw = cfg_str(argc, argv, "TRAINYARD_ADMIN_PASSWORD", NULL);
	if (admin && *admin) {
		if (!admin_pw || acct_bootstrap(&w, admin, admin_pw) < 0) {
			ty_log("TRAINYARD_ADMIN_USER needs a valid "
			       "TRAINYARD_ADMIN_PASSWORD");
			return 2;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* TRAINYARD_LISTEN: one address; unset or empty, every interface. */
	listen_addr = cfg_str(argc, argv, "TRAINYARD_LISTEN", "");
	if (*listen_addr)
		snprintf(port, sizeof(port), "%.60s:%ld", listen_addr, p);
	else
		snprintf(port, sizeof(port), "%ld", p);
	/*
	 * Slow clients (docs/web.md): a thread waits for a request's headers
	 * at most TRAINYARD_REQUEST_TIMEOUT_MS in all (CivetWeb's deadline
	 * counts from the first byte), and as long for each read of a body,
	 * whose rate web_read() watches. With 64 threads, 16 slow
	 * connections leave /healthz and everyone else plenty.
	 */
	nthreads = cfg_long(argc, argv, "TRAINYARD_WEB_THREADS", 64);
	snprintf(threads, sizeof(threads), "%ld", nthreads);
	/* A live view holds a request thread: at most half of them. */
	w.sse_per_user = (int)cfg_long(argc, argv, "TRAINYARD_SSE_PER_USER", 3);
	w.sse_max = (int)cfg_long(argc, argv, "TRAINYARD_SSE_MAX",
	                          nthreads / 2 > 1 ? nthreads / 2 : 1);
	if (w.sse_per_user < 1)
		w.sse_per_user = 3;
	if (w.sse_max < 1 || w.sse_max > 4096)
		w.sse_max = 8;
	grace = cfg_long(argc, argv, "TRAINYARD_SHUTDOWN_GRACE_S", 20);
	snprintf(timeout, sizeof(timeout), "%ld",
	         cfg_long(argc, argv, "TRAINYARD_REQUEST_TIMEOUT_MS", 20000));
	const char *opts[] = {
	    "listening_ports",
	    port,
	    "num_threads",
	    threads,
	    "request_timeout_ms",
	    timeout,
	    "linger_timeout_ms",
	    "2000",
	    "enable_keep_alive",
	    "no",
	    /* CivetWeb's own error answers (malformed requests) too */
	    "additional_header",
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\nReferrer-Policy: same-origin\r\n"
	    "Content-Security-Policy: default-src 'none'",
	    NULL,
	};
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = route_handle;
	cb.log_message = log_message;
	stack_floor_set(WEB_STACK_MIN);
	mg_init_library(0);
	ctx = mg_start(&cb, &w, opts);
	if (!ctx) {
		ty_log("cannot listen on port %s", port);
		return 1;
	}
	/* After the listener: a run resumed now can already be watched. */
	if (pipeline_start(&w, argc, argv) < 0)
		return 2;
	/* Datasets left 'uploaded'/'inspecting' by a restart resume here. */
	if (inspect_start(&w) < 0)
		return 1;
	ty_log("listening on %s (%s): http://127.0.0.1:%ld/ "
	       "(root %s, data %s, db %s)",
	       port, *listen_addr ? "one address" : "all interfaces", p, root,
	       w.data_dir, db_path);
	while (!stop_signal)
		usleep(100 * 1000);
	ty_log("signal %d: finishing requests in flight", (int)stop_signal);
	pipeline_stop(); /* first: it ends the live event streams too */
	/*
	 * mg_stop() would cut short a request still reading its body (an
	 * upload), so first let those finish, for at most the grace time.
	 */
	route_drain();
	for (double end = util_now() + grace;
	     route_inflight() > 0 && util_now() < end;)
		usleep(50 * 1000);
	if (route_inflight() > 0)
		ty_log(
		    "%d request(s) still running after %lds: stopping anyway",
		    route_inflight(), grace);
	mg_stop(ctx); /* waits for the worker threads */
	inspect_stop();
	mg_exit_library();
	db_close(w.db);
	view_free_all();
	page_static_free();
	free(root);
	ty_log("stopped");
	return 0;
}
