/* params.c — train job params and the architectures built from them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"
#include "train.h"

static int
bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

/* Optional integer member in [lo, hi]; 1 if set, 0 if absent, -1 bad. */
static int
intnum(const cJSON *j, const char *name, long lo, long hi, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != floor(v->valuedouble))
		return -1;
	*out = (int)v->valuedouble;
	return 1;
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

/*
 * What the table cannot say: defaults that depend on the architecture or
 * the optimiser, and rules between rows. m is the request's "model".
 */
static int
arch_rules(const cJSON *m, struct train_params *p, char *err, size_t errlen)
{
	/* a cnn given no hidden list has none (the mlp's default is 128) */
	if (!cJSON_GetObjectItemCaseSensitive(m, "hidden") &&
	    p->arch == ARCH_CNN)
		p->nhidden = 0;
	if (p->arch == ARCH_LSTM && (p->nhidden < 1 || p->nhidden > 2))
		return bad(err, errlen,
		           "model.hidden of an lstm is 1 or 2 layer widths");
	if (params_arch_reads(p->arch, "conv") && p->nconv < 1)
		return bad(err, errlen,
		           "model.conv must be a list of 1 to 8 "
		           "channel counts");
	if (params_arch_reads(p->arch, "widths") &&
	    (p->nwidths < 1 || p->nwidths > 4))
		return bad(err, errlen,
		           "model.widths must be 1 to 4 channel "
		           "counts in 1..512");
	/* one block a stage unless given */
	if (!cJSON_GetObjectItemCaseSensitive(m, "blocks")) {
		for (int i = 0; i < p->nwidths; i++)
			p->blocks[i] = 1;
		p->nblocks = p->nwidths;
	}
	if (params_arch_reads(p->arch, "blocks") && p->nblocks != p->nwidths)
		return bad(err, errlen,
		           "model.blocks must give 1..8 blocks "
		           "for each of model.widths");
	/* what the architecture does not read is not kept */
	if (!params_arch_reads(p->arch, "hidden"))
		p->nhidden = 0;
	if (!params_arch_reads(p->arch, "conv"))
		p->nconv = 0;
	if (!params_arch_reads(p->arch, "widths"))
		p->nwidths = p->nblocks = 0;
	return 0;
}

/*
 * The patience of early stopping left to the worker (true, or no
 * "patience"): a share of the run, at least TRAIN_PATIENCE_MIN epochs.
 * A fixed 3 stopped the colour recipe's 30-epoch cosine schedule at
 * epoch 7-8 while the learning rate was still high and the validation
 * loss noisy, 15-20 pp below where the schedule ends (docs/pipeline.md,
 * "Early stopping fits the schedule"); a patience that grows with the
 * epochs scales with the schedule, which looks the same at any length.
 * Short runs keep 3 (Fashion-MNIST's 2 epochs never stop either way).
 */
int
train_patience(int epochs)
{
	int p = (epochs + TRAIN_PATIENCE_SHARE - 1) / TRAIN_PATIENCE_SHARE;
	return p < TRAIN_PATIENCE_MIN ? TRAIN_PATIENCE_MIN : p;
}

int
train_params_parse(const cJSON *j, struct train_params *p, char *err,
                   size_t errlen)
{
	memset(p, 0, sizeof(*p));
	params_defaults(&p->run);
	/* the lists an architecture reads when the request leaves them out */
	p->hidden[0] = 128, p->nhidden = 1;
	p->conv[0] = 16, p->conv[1] = 32, p->nconv = 2;
	p->widths[0] = 16, p->widths[1] = 32, p->widths[2] = 64, p->nwidths = 3;
	if (!cJSON_IsObject(j))
		return bad(err, errlen, "params must be a JSON object");
	if (relpath(j, "data", p->data, sizeof(p->data), err, errlen) ||
	    relpath(j, "output", p->output, sizeof(p->output), err, errlen))
		return -1;
	if (params_from_json(j, F_TRAIN, 0, &p->run, err, errlen) ||
	    arch_rules(cJSON_GetObjectItemCaseSensitive(j, "model"), p, err,
	               errlen))
		return -1;
	/* the rows whose default depends on others (def -1) */
	if (p->lr < 0)
		p->lr = p->optimizer == NN_OPT_SGD ? 0.01f : 1e-3f;
	/* AdamW's decay is its point: PyTorch's default */
	if (p->weight_decay < 0)
		p->weight_decay = p->optimizer == NN_OPT_ADAMW ? 0.01f : 0.0f;
	/* a warm-up of one epoch when there are enough to spare */
	if (p->warmup_epochs < 0)
		p->warmup_epochs =
		    p->lr_schedule == SCHED_COSINE && p->epochs >= 5 ? 1.0f
		                                                     : 0.0f;
	else if (p->warmup_epochs >= p->epochs)
		return bad(err, errlen,
		           "warmup_epochs must be at least 0 and "
		           "fewer than epochs");

	if (train_augment_parse(cJSON_GetObjectItemCaseSensitive(j, "augment"),
	                        p, err, errlen))
		return -1;
	const cJSON *es = cJSON_GetObjectItemCaseSensitive(j, "early_stopping");
	if (cJSON_IsObject(es)) {
		if (intnum(es, "patience", 1, 1000, &p->patience) < 0)
			return bad(err, errlen,
			           "early_stopping.patience must be 1..1000");
		if (!p->patience)
			p->patience = train_patience(p->epochs);
	} else if (cJSON_IsBool(es)) {
		p->patience = cJSON_IsTrue(es) ? train_patience(p->epochs) : 0;
	} else if (cJSON_IsNumber(es)) {
		if (intnum(j, "early_stopping", 0, 1000, &p->patience) < 0)
			return bad(err, errlen,
			           "early_stopping must be a patience 0..1000");
	} else if (es && !cJSON_IsNull(es)) {
		return bad(err, errlen,
		           "early_stopping must be a patience, "
		           "a bool or {\"patience\": n}");
	}
	return 0;
}

cJSON *
train_params_json(const struct train_params *p)
{
	cJSON *j = cJSON_CreateObject();
	/* not "output": where a model is written is not part of what it is,
	 * so the same training writes the same bytes anywhere */
	cJSON_AddStringToObject(j, "data", p->data);
	params_to_json(&p->run, F_TRAIN, j);
	/* the newer options only when set, so that older runs' params
	 * (compared on resume) stay as they were */
	if (p->lr_schedule != SCHED_COSINE)
		cJSON_DeleteItemFromObjectCaseSensitive(j, "warmup_epochs");
	train_augment_json(p, j);
	cJSON_AddNumberToObject(j, "early_stopping", p->patience);
	/* only for parallel runs (even 0), so single-worker params stay as
	 * they were */
	cJSON_DeleteItemFromObjectCaseSensitive(j, "local_steps");
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

static int (*const builders[ARCH__MAX])(const struct train_params *, int,
                                        struct specs *) = {
    [ARCH_LINEAR] = build_dense, [ARCH_MLP] = build_dense,
    [ARCH_CNN] = build_cnn,      [ARCH_RESNET] = build_resnet,
    [ARCH_LSTM] = build_lstm,
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
