/*
 * svc.h — the process shell every worker runs in: configuration, volumes,
 * the CivetWeb server, /healthz /readyz /metrics, the parts a worker
 * mounts (job.h's JOB_MOUNT gives the /jobs API), an access log, and
 * graceful shutdown. svc knows nothing of jobs: job depends on svc.
 *
 *	static const struct job_kind kinds[] = {{"inspect", v, run, NULL}};
 *	static const struct svc_mount jobs = JOB_MOUNT(kinds);
 *	static const struct svc_route routes[] = {
 *		{"POST", "/predict", predict, NULL},
 *	};
 *	static const struct svc_def def = {
 *		.name = "infer", .default_port = 8083,
 *		.mount = &jobs,
 *		.routes = routes, .nroutes = TY_ARRAY_LEN(routes),
 *	};
 *	int main(int argc, char **argv) { return svc_main(argc, argv, &def); }
 *
 * Configuration (flag or environment, see cfg_str in util.h):
 *	TRAINYARD_PORT, TRAINYARD_DATA_DIR (./var/data),
 *	TRAINYARD_MODELS_DIR (./var/models), TRAINYARD_THREADS (cores),
 *	TRAINYARD_MAX_BODY_MB (body limit of JSON requests, 64),
 *	TRAINYARD_LISTEN (address, 0.0.0.0),
 *	TRAINYARD_SERVICE_TOKEN (required by every route but /healthz and
 *	/readyz; without it the worker refuses to start unless
 *	TRAINYARD_INSECURE_NO_TOKEN=1), TRAINYARD_METRICS_TOKEN (also opens
 *	/metrics).
 */
#ifndef TY_SVC_H
#define TY_SVC_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util.h"

struct mg_connection;

/*
 * A route handler answers one request and returns the HTTP status it sent
 * (the svc_reply_* helpers return it), which feeds the access log and the
 * metrics.
 */
typedef int (*svc_handler)(struct mg_connection *c, void *arg);

/* Who may call a route; the zero value is the safe one. */
enum svc_access {
	SVC_TOKEN = 0, /* the service token */
	SVC_OPEN,      /* anyone: the probes */
	SVC_METRICS,   /* the service token or the metrics token */
};

struct svc_route {
	const char *method; /* "GET", "POST", ... */
	/*
	 * Exact path, or a prefix when it ends in a star: "/peers/" plus a
	 * star matches "/peers/x/y"; svc_path_tail() gives the part after
	 * the prefix (a non-empty one).
	 */
	const char *uri;
	svc_handler fn;
	void *arg;
	enum svc_access access;
};

/*
 * A part mounted into the shell: its routes and its life cycle (every
 * hook may be NULL). arg is passed to each hook.
 */
struct svc_mount {
	const struct svc_route *routes;
	size_t nroutes;
	const void *arg;
	/* After config, volumes and def->init; non-zero ends the process. */
	int (*start)(const void *arg, int argc, char **argv);
	/* After the server stopped, before def->fini. */
	void (*stop)(const void *arg);
	/* Before GET /metrics renders: sets its gauges. */
	void (*metrics)(const void *arg);
};

struct svc_def {
	const char *name; /* "preprocess": log prefix and metric prefix */
	int default_port;
	const struct svc_mount *mount;  /* may be NULL (job.h: JOB_MOUNT) */
	const struct svc_route *routes; /* extra routes, may be NULL */
	size_t nroutes;
	/*
	 * Called after config is read and volumes exist, before the server
	 * starts; a non-zero return ends the process with status 1.
	 */
	int (*init)(int argc, char **argv);
	/* Called after the server stopped and jobs reached a safe point. */
	void (*fini)(void);
};

/* Runs the service until SIGTERM/SIGINT; returns the exit status. */
int svc_main(int argc, char **argv, const struct svc_def *def);

/* Configuration, valid once svc_main has read it. */
const char *svc_data_dir(void);
const char *svc_models_dir(void);
int svc_threads(void);
size_t svc_max_body(void);
/* Non-zero once SIGTERM/SIGINT arrived. */
int svc_stopping(void);

/*
 * Joins a path relative to a volume, refusing absolute paths, ".."
 * components, empty paths and control characters. Returns a string to
 * free, or NULL with a reason in err.
 */
char *svc_volume_path(const char *volume, const char *rel, char *err,
                      size_t errlen) TY_WUR;

/*
 * Request helpers. svc_read_json reads a body of at most max bytes
 * (0: svc_max_body()) and parses it as a JSON object; returns 0, or the
 * HTTP status to answer (400, 408, 411, 413) with a message in err.
 */
int svc_read_json(struct mg_connection *c, size_t max, cJSON **out, char *err,
                  size_t errlen) TY_WUR;
/*
 * The raw body, at most max bytes (0: svc_max_body()), NUL-terminated,
 * for the caller to free; returns 0, or 413, or 408 when it came slower
 * than TRAINYARD_BODY_MIN_RATE (pace.h), with err. For handlers that
 * parse elsewhere (e.g. on a thread with a larger stack than CivetWeb's).
 */
int svc_read_body(struct mg_connection *c, size_t max, char **out,
                  size_t *outlen, char *err, size_t errlen) TY_WUR;
/* The request path after the route's '*' prefix ("" if none). */
const char *svc_path_tail(struct mg_connection *c, const char *prefix);

/* Replies; each returns status. svc_reply_json does not take body. */
int svc_reply_json(struct mg_connection *c, int status, const cJSON *body);
int svc_reply_error(struct mg_connection *c, int status, const char *fmt, ...)
    TY_PRINTF(3, 4);
int svc_reply(struct mg_connection *c, int status, const char *ctype,
              const void *body, size_t len);

#endif
