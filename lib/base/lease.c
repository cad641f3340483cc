/* lease.c — leases between replicas on one volume; see lease.h. */
#include "lease.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_MAX_RECORD (64 << 20)

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *
str(const cJSON *o, const char *k)
{
	const char *s =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s ? s : "";
}

/* What one other record means for ours; may take the record. */
static void
judge(cJSON **rec, const char *who, double own_created, double now,
      struct lease_look *out)
{
	const char *st = str(*rec, "status");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(*rec, "lease");
	double created = num(*rec, "created"), expires = num(l, "expires");
	enum lease_verdict v = LEASE_FREE;

	if (created > own_created)
		v = LEASE_YIELD;
	else if ((!strcmp(st, "queued") || !strcmp(st, "running")) &&
	         expires > now)
		v = LEASE_WAIT;
	else if (!strcmp(st, "succeeded") || !strcmp(st, "failed"))
		v = LEASE_ENDED;
	/* the strongest verdict wins: yield > ended > wait > free */
	static const int rank[] = {[LEASE_FREE] = 0,
	                           [LEASE_WAIT] = 1,
	                           [LEASE_ENDED] = 2,
	                           [LEASE_YIELD] = 3};
	if (rank[v] <= rank[out->v])
		return;
	out->v = v;
	snprintf(out->other, sizeof(out->other), "%s", who);
	out->wait_s = v == LEASE_WAIT ? expires - now : 0;
	if (v == LEASE_ENDED) {
		cJSON_Delete(out->record);
		out->record = *rec;
		*rec = NULL;
	}
}

static void
look_at(const char *path, const char *who, double own_created, double now,
        struct lease_look *out)
{
	size_t len;
	char *text = util_read_file(path, LEASE_MAX_RECORD, &len);
	cJSON *rec;

	if (!text)
		return; /* none there (the usual case) */
	rec = cJSON_ParseWithLength(text, len);
	free(text);
	if (cJSON_IsObject(rec))
		judge(&rec, who, own_created, now, out);
	cJSON_Delete(rec);
}

void
lease_look(const char *root, const char *own_dir, const char *id,
           double own_created, double now, struct lease_look *out)
{
	DIR *d;
	struct dirent *de;
	char *path;

	memset(out, 0, sizeof(*out));
	if (strcmp(root, own_dir)) {
		path = xasprintf("%s/%s.json", root, id);
		look_at(path, "", own_created, now, out);
		free(path);
	}
	if (!(d = opendir(root)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".json"))
			continue;
		char *dir = xasprintf("%s/%s", root, de->d_name);
		if (strcmp(dir, own_dir)) {
			path = xasprintf("%s/%s.json", dir, id);
			look_at(path, de->d_name, own_created, now, out);
			free(path);
		}
		free(dir);
	}
	closedir(d);
}

void
lease_add(cJSON *rec, const char *owner, double expires)
{
	cJSON *l = cJSON_AddObjectToObject(rec, "lease");

	cJSON_AddStringToObject(l, "owner", owner);
	cJSON_AddNumberToObject(l, "expires", expires);
}
