/* params.c — train job params and the architectures built from them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"
#include "train.h"

static const char *const arch_names[TRAIN_ARCH__MAX] = {"linear", "mlp", "cnn",
                                                        "resnet", "lstm"};
static const char *const opt_names[NN_OPT__MAX] = {"sgd", "adam", "adamw"};

static int
bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

/* Optional number member in [lo, hi]; 1 if set, 0 if absent, -1 bad. */
static int
num(const cJSON *j, const char *name, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < lo || v->valuedouble > hi)
		return -1;
	*out = v->valuedouble;
	return 1;
}

static int
intnum(const cJSON *j, const char *name, long lo, long hi, int *out)
{
	double d;
	int r = num(j, name, (double)lo, (double)hi, &d);
	if (r == 1) {
		if (d != floor(d))
			return -1;
		*out = (int)d;
	}
	return r;
}

/* A width list: [256, 128] or "256,128" (as the web form sends it). */
static int
widths(const cJSON *v, int *out, int *n, int lo, int hi)
{
	*n = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < lo || v->valuedouble > hi)
			return -1;
		out[(*n)++] = (int)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		while (*s) {
			char *end;
			while (*s == ' ')
				s++;
			if (!*s)
				break;
			long w = strtol(s, &end, 10);
			if (end == s || w < lo || w > hi ||
			    *n >= TRAIN_MAX_WIDTHS)
				return -1;
			out[(*n)++] = (int)w;
			s = end;
			while (*s == ' ')
				s++;
			if (*s == ',')
				s++;
			else if (*s)
				return -1;
		}
		return 0;
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > TRAIN_MAX_WIDTHS)
		return -1;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsNumber(e) ||
		    e->valuedouble != floor(e->valuedouble) ||
		    e->valuedouble < lo || e->valuedouble > hi)
			return -1;
		out[(*n)++] = (int)e->valuedouble;
	}
	return 0;
}

static int
relpath(const cJSON *j, const char *name, char *out, size_t outlen, char *err,
        size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	char why[160];
	if (!cJSON_IsString(v)) {
		snprintf(err, errlen,
		         "%s: a path relative to the volume is "
		         "required",
		         name);
		return -1;
	}
	char *full = svc_volume_path("/v", v->valuestring, why, sizeof(why));
	if (!full) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	free(full);
	if (strlen(v->valuestring) >= outlen) {
		snprintf(err, errlen, "%s: path too long", name);
		return -1;
	}
	snprintf(out, outlen, "%s", v->valuestring);
	return 0;
}

/* model.widths (default 16,32,64) and model.blocks (1 per stage). */
static int
resnet_params(const cJSON *m, struct train_params *p, char *err, size_t errlen)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(m, "widths");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "blocks");
	if (!w) {
		p->widths[0] = 16, p->widths[1] = 32, p->widths[2] = 64;
		p->nwidths = 3;
	} else if (widths(w, p->widths, &p->nwidths, 1, 512) ||
	           p->nwidths < 1 || p->nwidths > 4) {
		return bad(err, errlen,
		           "model.widths must be 1 to 4 channel counts "
		           "in 1..512");
	}
	if (!b) {
		for (int i = 0; i < p->nwidths; i++)
			p->blocks[i] = 1;
		p->nblocks = p->nwidths;
	} else if (widths(b, p->blocks, &p->nblocks, 1, 8) ||
	           p->nblocks != p->nwidths) {
		return bad(err, errlen,
		           "model.blocks must give 1..8 blocks for each "
		           "of model.widths");
	}
	return 0;
}

/* lr_schedule, warmup, label_smoothing and class_weights. */
static int
loss_and_schedule(const cJSON *j, struct train_params *p, char *err,
                  size_t errlen)
{
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(j, "lr_schedule");
	if (ls && !cJSON_IsNull(ls)) {
		if (!cJSON_IsString(ls) ||
		    (strcmp(ls->valuestring, "constant") != 0 &&
		     strcmp(ls->valuestring, "cosine") != 0))
			return bad(err, errlen,
			           "lr_schedule must be constant or cosine");
		p->cosine = strcmp(ls->valuestring, "cosine") == 0;
	}
	double d;
	/* a warm-up of one epoch when there are enough to spare */
	p->warmup = p->cosine && p->epochs >= 5 ? 1.0f : 0.0f;
	int r = num(j, "warmup_epochs", 0, 1000, &d);
	if (r < 0 || (r && d >= p->epochs))
		return bad(err, errlen,
		           "warmup_epochs must be at least 0 and "
		           "fewer than epochs");
	if (r)
		p->warmup = (float)d;
	if ((r = num(j, "label_smoothing", 0, 0.5, &d)) < 0)
		return bad(err, errlen, "label_smoothing must be in 0..0.5");
	if (r)
		p->smoothing = (float)d;
	const cJSON *cw = cJSON_GetObjectItemCaseSensitive(j, "class_weights");
	if (cw && !cJSON_IsNull(cw) && !cJSON_IsBool(cw))
		return bad(err, errlen, "class_weights must be a bool");
	p->class_weights = cJSON_IsTrue(cw);
	return 0;
}

int
train_params_parse(const cJSON *j, struct train_params *p, char *err,
                   size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->epochs = 10;
	p->batch_size = 64;
	p->optimizer = NN_OPT_ADAM;
	p->lr = -1;
	p->momentum = 0.9f;
	p->seed = 1;
	p->workers = 1;
	p->arch = TRAIN_MLP;
	p->hidden[0] = 128, p->nhidden = 1;
	if (!cJSON_IsObject(j))
		return bad(err, errlen, "params must be a JSON object");
	if (relpath(j, "data", p->data, sizeof(p->data), err, errlen) ||
	    relpath(j, "output", p->output, sizeof(p->output), err, errlen))
		return -1;

	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
	if (m && !cJSON_IsObject(m))
		return bad(err, errlen, "model must be an object");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "arch");
	if (a) {
		size_t i;
		for (i = 0; i < TY_ARRAY_LEN(arch_names); i++)
			if (cJSON_IsString(a) &&
			    strcmp(a->valuestring, arch_names[i]) == 0)
				break;
		if (i == TY_ARRAY_LEN(arch_names))
			return bad(err, errlen,
			           "model.arch must be linear, mlp, cnn, "
			           "resnet or lstm");
		p->arch = (int)i;
	}
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(m, "hidden");
	if (h) {
		if (widths(h, p->hidden, &p->nhidden, 1, 8192))
			return bad(err, errlen,
			           "model.hidden must be a list "
			           "of up to 8 widths in 1..8192");
	} else if (p->arch == TRAIN_CNN || p->arch == TRAIN_RESNET) {
		p->nhidden = 0;
	}
	if (p->arch == TRAIN_LINEAR || p->arch == TRAIN_RESNET)
		p->nhidden = 0;
	if (p->arch == TRAIN_LSTM && (p->nhidden < 1 || p->nhidden > 2))
		return bad(err, errlen,
		           "model.hidden of an lstm is 1 or 2 layer widths");
	if (p->arch == TRAIN_RESNET && resnet_params(m, p, err, errlen))
		return -1;
	if (p->arch == TRAIN_CNN) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "conv");
		if (!c) {
			p->conv[0] = 16, p->conv[1] = 32, p->nconv = 2;
		} else if (widths(c, p->conv, &p->nconv, 1, 1024) ||
		           p->nconv < 1) {
			return bad(err, errlen,
			           "model.conv must be a list of "
			           "1 to 8 channel counts in 1..1024");
		}
	}
	double d;
	if (num(m, "dropout", 0, 0.95, &d) < 0)
		return bad(err, errlen, "model.dropout must be in 0..0.95");
	else if (num(m, "dropout", 0, 0.95, &d) == 1)
		p->dropout = (float)d;

	if (intnum(j, "epochs", 1, 1000, &p->epochs) < 0)
		return bad(err, errlen, "epochs must be an integer 1..1000");
	if (intnum(j, "batch_size", 1, 4096, &p->batch_size) < 0)
		return bad(err, errlen, "batch_size must be 1..4096");
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "optimizer");
	if (o) {
		int i;
		for (i = 0; i < NN_OPT__MAX; i++)
			if (cJSON_IsString(o) &&
			    strcmp(o->valuestring, opt_names[i]) == 0)
				break;
		if (i == NN_OPT__MAX)
			return bad(err, errlen,
			           "optimizer must be sgd, adam or adamw");
		p->optimizer = i;
	}
	int r = num(j, "lr", 1e-9, 10, &d);
	if (r < 0)
		return bad(err, errlen, "lr must be a number in (0, 10]");
	p->lr = r ? (float)d : (p->optimizer == NN_OPT_SGD ? 0.01f : 1e-3f);
	if ((r = num(j, "momentum", 0, 0.999, &d)) < 0)
		return bad(err, errlen, "momentum must be in 0..0.999");
	if (r)
		p->momentum = (float)d;
	if ((r = num(j, "weight_decay", 0, 1, &d)) < 0)
		return bad(err, errlen, "weight_decay must be in 0..1");
	/* AdamW's decay is its point: PyTorch's default */
	p->weight_decay = r                              ? (float)d
	                  : p->optimizer == NN_OPT_ADAMW ? 0.01f
	                                                 : 0.0f;
	if (loss_and_schedule(j, p, err, errlen))
		return -1;
	if ((r = num(j, "seed", 0, 9007199254740991.0, &d)) < 0 ||
	    (r && d != floor(d)))
		return bad(err, errlen, "seed must be a non-negative integer");
	if (r)
		p->seed = (uint64_t)d;

	if (train_augment_parse(cJSON_GetObjectItemCaseSensitive(j, "augment"),
	                        p, err, errlen))
		return -1;
	const cJSON *es = cJSON_GetObjectItemCaseSensitive(j, "early_stopping");
	if (cJSON_IsObject(es)) {
		if (intnum(es, "patience", 1, 1000, &p->patience) < 0)
			return bad(err, errlen,
			           "early_stopping.patience must be 1..1000");
		if (!p->patience)
			p->patience = 3;
	} else if (cJSON_IsBool(es)) {
		p->patience = cJSON_IsTrue(es) ? 3 : 0;
	} else if (cJSON_IsNumber(es)) {
		if (intnum(j, "early_stopping", 0, 1000, &p->patience) < 0)
			return bad(err, errlen,
			           "early_stopping must be a patience 0..1000");
	} else if (es && !cJSON_IsNull(es)) {
		return bad(err, errlen,
		           "early_stopping must be a patience, "
		           "a bool or {\"patience\": n}");
	}
	if (intnum(j, "workers", 1, 64, &p->workers) < 0)
		return bad(err, errlen, "workers must be an integer 1..64");
	/* workers > 1: federated averaging across replicas (fed.h) */
	if (intnum(j, "local_steps", 0, 1000000, &p->local_steps) < 0)
		return bad(err, errlen,
		           "local_steps must be an integer "
		           "0..1000000 (0: one local epoch per round)");
	return 0;
}

static cJSON *
int_array(const int *v, int n)
{
	return cJSON_CreateIntArray(v, n);
}

cJSON *
train_params_json(const struct train_params *p)
{
	cJSON *j = cJSON_CreateObject();
	/* not "output": where a model is written is not part of what it is,
	 * so the same training writes the same bytes anywhere */
	cJSON_AddStringToObject(j, "data", p->data);
	cJSON *m = cJSON_AddObjectToObject(j, "model");
	cJSON_AddStringToObject(m, "arch", arch_names[p->arch]);
	cJSON_AddItemToObject(m, "hidden", int_array(p->hidden, p->nhidden));
	if (p->arch == TRAIN_CNN)
		cJSON_AddItemToObject(m, "conv", int_array(p->conv, p->nconv));
	if (p->arch == TRAIN_RESNET) {
		cJSON_AddItemToObject(m, "widths",
		                      int_array(p->widths, p->nwidths));
		cJSON_AddItemToObject(m, "blocks",
		                      int_array(p->blocks, p->nblocks));
	}
	cJSON_AddNumberToObject(m, "dropout", p->dropout);
	cJSON_AddNumberToObject(j, "epochs", p->epochs);
	cJSON_AddNumberToObject(j, "batch_size", p->batch_size);
	cJSON_AddStringToObject(j, "optimizer", opt_names[p->optimizer]);
	cJSON_AddNumberToObject(j, "lr", p->lr);
	cJSON_AddNumberToObject(j, "momentum", p->momentum);
	cJSON_AddNumberToObject(j, "weight_decay", p->weight_decay);
	/* the newer options only when set, so that older runs' params
	 * (compared on resume) stay as they were */
	if (p->cosine) {
		cJSON_AddStringToObject(j, "lr_schedule", "cosine");
		cJSON_AddNumberToObject(j, "warmup_epochs", p->warmup);
	}
	if (p->smoothing > 0)
		cJSON_AddNumberToObject(j, "label_smoothing", p->smoothing);
	if (p->class_weights)
		cJSON_AddBoolToObject(j, "class_weights", 1);
	cJSON_AddNumberToObject(j, "seed", (double)p->seed);
	train_augment_json(p, j);
	cJSON_AddNumberToObject(j, "early_stopping", p->patience);
	cJSON_AddNumberToObject(j, "workers", p->workers);
	/* only for parallel runs, so single-worker params stay as they were */
	if (p->workers > 1)
		cJSON_AddNumberToObject(j, "local_steps", p->local_steps);
	return j;
}

/* The layer list under construction. */
struct specs {
	struct nn_spec *s;
	int n, max;
};

static int
add(struct specs *b, struct nn_spec s)
{
	if (b->n >= b->max)
		return -1;
	b->s[b->n++] = s;
	return 0;
}

#define ADD(b, ...)                                                            \
	do {                                                                   \
		if (add((b), (struct nn_spec){__VA_ARGS__}))                   \
			return -1;                                             \
	} while (0)

/* The dense head: p->hidden layers (ReLU, dropout) then the logits. */
static int
dense_head(const struct train_params *p, int classes, struct specs *b)
{
	for (int i = 0; i < p->nhidden; i++) {
		ADD(b, .kind = NN_DENSE, .out = p->hidden[i]);
		ADD(b, .kind = NN_RELU);
		if (p->dropout > 0)
			ADD(b, .kind = NN_DROPOUT, .p = p->dropout);
	}
	ADD(b, .kind = NN_DENSE, .out = classes);
	return 0;
}

static int
build_dense(const struct train_params *p, int classes, struct specs *b)
{
	ADD(b, .kind = NN_FLATTEN);
	return dense_head(p, classes, b);
}

/* cnn: 3x3 conv (pad 1) + ReLU + 2x2 max-pool per conv entry */
static int
build_cnn(const struct train_params *p, int classes, struct specs *b)
{
	for (int i = 0; i < p->nconv; i++) {
		ADD(b, .kind = NN_CONV, .out = p->conv[i], .k = 3, .stride = 1,
		    .pad = 1);
		ADD(b, .kind = NN_RELU);
		ADD(b, .kind = NN_MAXPOOL);
	}
	return build_dense(p, classes, b);
}

/*
 * One basic block (He et al. 2016) of w channels whose input is layer x
 * with cin channels: conv3x3/stride-bn-relu-conv3x3-bn, plus the input
 * (through conv1x1/stride + bn when the shape changes), then ReLU.
 */
static int
basic_block(struct specs *b, int x, int cin, int w, int stride)
{
	ADD(b, .kind = NN_CONV, .out = w, .k = 3, .stride = stride, .pad = 1);
	ADD(b, .kind = NN_BN);
	ADD(b, .kind = NN_RELU);
	ADD(b, .kind = NN_CONV, .out = w, .k = 3, .stride = 1, .pad = 1);
	ADD(b, .kind = NN_BN);
	int e = b->n - 1; /* the branch's end */
	if (stride != 1 || cin != w) {
		ADD(b, .kind = NN_CONV, .out = w, .k = 1, .stride = stride,
		    .pad = 0, .in = b->n - x);
		ADD(b, .kind = NN_BN);
		ADD(b, .kind = NN_ADD, .skip = b->n - e);
	} else {
		ADD(b, .kind = NN_ADD, .skip = b->n - x);
	}
	ADD(b, .kind = NN_RELU);
	return 0;
}

/* resnet: a 3x3 stem, stages of basic blocks (each stage after the
 * first halves the map), global average pooling, the logits */
static int
build_resnet(const struct train_params *p, int classes, struct specs *b)
{
	ADD(b, .kind = NN_CONV, .out = p->widths[0], .k = 3, .stride = 1,
	    .pad = 1);
	ADD(b, .kind = NN_BN);
	ADD(b, .kind = NN_RELU);
	int cin = p->widths[0];
	for (int s = 0; s < p->nwidths; s++)
		for (int k = 0; k < p->blocks[s]; k++) {
			if (basic_block(b, b->n - 1, cin, p->widths[s],
			                s > 0 && k == 0 ? 2 : 1))
				return -1;
			cin = p->widths[s];
		}
	ADD(b, .kind = NN_GAP);
	ADD(b, .kind = NN_DENSE, .out = classes);
	return 0;
}

/* lstm: the image read row by row by 1-2 LSTM layers, the last state
 * into the logits */
static int
build_lstm(const struct train_params *p, int classes, struct specs *b)
{
	for (int i = 0; i < p->nhidden; i++)
		ADD(b, .kind = NN_LSTM, .out = p->hidden[i],
		    .seq = i + 1 < p->nhidden);
	ADD(b, .kind = NN_DENSE, .out = classes);
	return 0;
}
#undef ADD

static int (*const builders[TRAIN_ARCH__MAX])(const struct train_params *, int,
                                              struct specs *) = {
    [TRAIN_LINEAR] = build_dense, [TRAIN_MLP] = build_dense,
    [TRAIN_CNN] = build_cnn,      [TRAIN_RESNET] = build_resnet,
    [TRAIN_LSTM] = build_lstm,
};

int
train_arch_specs(const struct train_params *p, int classes, struct nn_spec *s,
                 int max, char *err, size_t errlen)
{
	struct specs b = {s, 0, max};
	if (builders[p->arch](p, classes, &b))
		return bad(err, errlen, "too many layers");
	return b.n;
}
