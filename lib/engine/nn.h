/*
 * nn.h — the neural-network engine: a list of layers on float32 tensors
 * in NHWC order, matrix products on OpenBLAS. Each layer reads the one
 * before it unless its spec names another (spec.in; NN_ADD sums two), so
 * residual nets are lists too. Each kind is a row of one op table
 * (nn_int.h, op_*.c).
 *
 * Two objects keep weights and scratch apart:
 *
 *   nn_net   the structure and the parameters (weights + biases, one
 *            contiguous float array). Read-only while predicting, so many
 *            threads may share one net.
 *   nn_ctx   everything one forward/backward pass writes: activations,
 *            im2col buffers, pooling indices, dropout masks and (when made
 *            for training) the parameter gradients. One arena, allocated
 *            once for a maximum batch; nothing is allocated per step.
 *            Layers share buffers where no value needed later is lost
 *            (nn_plan.c): outputs and gradients that are dead are
 *            reused, so a layer's output is valid only until the pass
 *            goes on (nn_predict's result: until the next pass).
 *
 * Inference, thread-safe:
 *	nn_ctx *c = nn_ctx_new(net, n, 0);
 *	const float *p = nn_predict(c, x, n);     n x nn_out_size(net) probs
 *	nn_ctx_free(c);
 *
 * Training step:
 *	nn_forward(c, x, n, 1, &rng);
 *	loss = nn_loss_backward(c, labels, targets, n, &correct);
 *	nn_opt_step(&opt, net, nn_ctx_grads(c));
 *
 * Inputs are n samples of h*w*c floats (NHWC; dense-only nets use h=w=1).
 */
#ifndef TY_NN_H
#define TY_NN_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum nn_kind {
	NN_DENSE,   /* out units */
	NN_CONV,    /* out channels, k x k kernel, stride, pad */
	NN_MAXPOOL, /* 2x2, stride 2 */
	NN_RELU,
	NN_SIGMOID,
	NN_DROPOUT, /* p = probability of dropping */
	NN_FLATTEN, /* no-op in NHWC; kept so the model file reads as built */
	NN_GAP,     /* global average pool: h x w x c -> 1 x 1 x c */
	NN_BN,      /* batch normalisation over the channels */
	NN_ADD,     /* the sum of its input and layer i - skip's output */
	NN_LSTM,    /* out units; reads h steps of w*c features */
	NN_KIND__MAX
};

enum nn_loss {
	NN_LOSS_XENT, /* last layer gives logits; softmax + cross-entropy */
	NN_LOSS_MSE,  /* mean squared error on the last layer's output */
	NN_LOSS__MAX
};

struct nn_spec {
	enum nn_kind kind;
	int out; /* dense units / conv channels / LSTM units */
	int k, stride, pad;
	float p;
	/* The layer's input: the output of layer i - in (0 or 1: the
	 * previous layer; i - in = -1: the net's input). */
	int in;
	int skip; /* NN_ADD: the other summand is layer i - skip's output */
	int seq;  /* NN_LSTM: 1 = every step's h (h x 1 x out), 0 = last */
};

/* Names used in the model file: "dense", "conv", ... ; NULL when out of range.
 */
const char *nn_kind_name(enum nn_kind k);
int nn_kind_from_name(const char *s); /* -1 when unknown */

/* Small deterministic RNG (xoshiro256**), state is plain data. */
struct nn_rng {
	uint64_t s[4];
};
void nn_rng_seed(struct nn_rng *r, uint64_t seed);
uint64_t nn_rng_next(struct nn_rng *r);
float nn_rng_uniform(struct nn_rng *r);              /* [0, 1) */
float nn_rng_normal(struct nn_rng *r);               /* N(0, 1) */
uint32_t nn_rng_below(struct nn_rng *r, uint32_t n); /* [0, n) */

typedef struct nn_net nn_net;
typedef struct nn_ctx nn_ctx;

/*
 * Builds a net for inputs of h x w x c. Returns NULL and writes a reason
 * to err when the specs do not fit (e.g. pooling a 1x1 map, zero units).
 */
nn_net *nn_new(int h, int w, int c, const struct nn_spec *specs, int nspecs,
               enum nn_loss loss, char *err, size_t errlen) TY_WUR;
/* The same, refusing nets of more than max_params weights (before any
 * allocation of them: a model file's header cannot make us allocate
 * more than the file holds). nn_new's limit is NN_MAX_PARAMS. */
#define NN_MAX_PARAMS ((size_t)1 << 28)
nn_net *nn_new_limited(int h, int w, int c, const struct nn_spec *specs,
                       int nspecs, enum nn_loss loss, size_t max_params,
                       char *err, size_t errlen) TY_WUR;
void nn_free(nn_net *net);

/* Weights and biases from seed, as nn_set_init chose: by default He
 * (Kaiming) normal where a ReLU follows, LeCun elsewhere, zero biases. */
void nn_init(nn_net *net, uint64_t seed);
enum nn_init_kind {
	NN_INIT_HE,     /* the default above */
	NN_INIT_UNIFORM /* PyTorch's nn.Linear/Conv: U(+-1/sqrt(fan_in)) for
	                   weights and biases */
};
/* How nn_init fills layers that have no init of their own (BN, LSTM do). */
void nn_set_init(nn_net *net, enum nn_init_kind kind);

int nn_nlayers(const nn_net *net);
const struct nn_spec *nn_layer_spec(const nn_net *net, int i);
/* Per-sample output shape of layer i (h, w, c). */
void nn_layer_shape(const nn_net *net, int i, int *h, int *w, int *c);
enum nn_loss nn_loss_kind(const nn_net *net);
int nn_in_size(const nn_net *net);
int nn_out_size(const nn_net *net);
size_t nn_nparams(const nn_net *net);
/* Where layer i's weights and biases sit in nn_params (counts may be 0). */
void nn_layer_params(const nn_net *net, int i, size_t *woff, size_t *wn,
                     size_t *boff, size_t *bn);
/* Where layer i's state sits in nn_params: values the optimiser does
 * not train (BN's running mean then variance); sn may be 0. */
void nn_layer_state(const nn_net *net, int i, size_t *soff, size_t *sn);
/* Index of the layer whose output layer i reads (-1: the net's input)
 * and, for NN_ADD, of the other summand (else -1). */
void nn_layer_inputs(const nn_net *net, int i, int *src, int *src2);
float *nn_params(nn_net *net);
const float *nn_params_c(const nn_net *net);
/* Floating-point operations of one forward pass per sample. */
double nn_flops_per_sample(const nn_net *net);
/* ... of one training step per sample: the forward pass, each weight
 * gradient, and each input gradient but the first layer's (not made). */
double nn_train_flops_per_sample(const nn_net *net);

/* 1 when a sample's output depends on the rest of its batch (batch
 * normalisation while training): the batch must not be cut in chunks. */
int nn_batch_coupled(const nn_net *net);

/*
 * Training-only loss options: label smoothing eps (0..1; the target is
 * (1 - eps) one-hot + eps / k) and class weights (k floats, copied; NULL:
 * all 1). A sample's loss is multiplied by its class's weight and the
 * batch mean is over samples, so weights that average 1 over the data
 * keep the loss's scale.
 */
void nn_set_loss_opts(nn_net *net, float smoothing, const float *class_w);

/*
 * A copy of net for inference with every batch normalisation that
 * follows a conv or dense layer (read by nothing else) folded into that
 * layer's weights and bias: W' = W * g / sqrt(var + eps), b' = (b - mean)
 * * g / sqrt(var + eps) + beta. Other BN layers stay (inference mode).
 * The exporters and the inference path use it. NULL with err on failure.
 */
nn_net *nn_fold_bn(const nn_net *net, char *err, size_t errlen) TY_WUR;
#define NN_BN_EPS 1e-5f
#define NN_BN_MOMENTUM 0.1f

/* A context for batches of at most maxbatch; train=1 adds gradients. */
nn_ctx *nn_ctx_new(const nn_net *net, int maxbatch, int train);
void nn_ctx_free(nn_ctx *c);
size_t nn_ctx_bytes(const nn_ctx *c);

/*
 * Forward pass on n <= maxbatch samples; returns the last layer's output
 * (logits for NN_LOSS_XENT). train=1 applies dropout using rng (which may
 * be NULL when the net has no dropout).
 */
const float *nn_forward(nn_ctx *c, const float *x, int n, int train,
                        struct nn_rng *rng);

/* Forward pass in inference mode, softmax applied for NN_LOSS_XENT. */
const float *nn_predict(nn_ctx *c, const float *x, int n);
/* n rows of the last layer's output made, in place, what nn_predict
 * returns for them (softmax for NN_LOSS_XENT). */
void nn_predict_rows(const nn_net *net, float *y, int n);

/*
 * After nn_forward(train=1): computes the mean loss over the batch and
 * back-propagates it, overwriting the parameter gradients. For XENT pass
 * labels (n class indices) and targets=NULL; for MSE pass targets
 * (n x out floats). *correct (if not NULL) gets the number of samples
 * whose arg-max output matches the label (XENT) or whose every output is
 * on the right side of 0.5 (MSE).
 */
float nn_loss_backward(nn_ctx *c, const uint16_t *labels, const float *targets,
                       int n, int *correct);

/*
 * The same for one part of a batch split across threads: the loss
 * returned is the part's mean, but gradients are scaled by 1/total_n so
 * that summing the parts' gradients gives the whole batch's.
 */
float nn_loss_backward_part(nn_ctx *c, const uint16_t *labels,
                            const float *targets, int n, int total_n,
                            int *correct);

/* Loss only, without touching gradients (for validation). */
float nn_loss(nn_ctx *c, const uint16_t *labels, const float *targets, int n,
              int *correct);

float *nn_ctx_grads(nn_ctx *c);
/*
 * on=1: later backward passes add to the parameter gradients instead of
 * overwriting them, so a batch can run in chunks small enough for the
 * cache (the activations of a whole conv batch are tens of MB).
 */
void nn_ctx_accumulate(nn_ctx *c, int on);
/* Per-layer wall time (for the bench's profile): on=1 resets and starts. */
void nn_ctx_timing(nn_ctx *c, int on);
void nn_ctx_layer_seconds(const nn_ctx *c, int i, double *fwd, double *bwd);

/* The most threads a batch is split across. */
#define NN_MAX_THREADS 64

/* Optimisers: SGD with momentum (PyTorch's form) and Adam with L2 decay;
 * AdamW, Adam with decoupled weight decay (w -= lr * wd * w). */
enum nn_opt_kind { NN_OPT_SGD, NN_OPT_ADAM, NN_OPT_ADAMW, NN_OPT__MAX };

struct nn_opt {
	enum nn_opt_kind kind;
	float lr, momentum, weight_decay;
	float beta1, beta2, eps;
	uint64_t t;   /* steps taken (Adam's bias correction) */
	float c1, c2; /* this step's bias corrections */
	size_t n;
	float *m; /* SGD velocity / Adam first moment */
	float *v; /* Adam second moment (NULL for SGD) */
};

/* Sets the usual defaults (beta 0.9/0.999, eps 1e-8) and zeroed state. */
void nn_opt_init(struct nn_opt *o, enum nn_opt_kind kind, const nn_net *net,
                 float lr, float momentum, float weight_decay);
void nn_opt_free(struct nn_opt *o);
/*
 * The learning rate of step `step` (0-based) of `total` under a cosine
 * schedule with linear warm-up over the first `warmup` steps: base *
 * (step + 1) / warmup while warming up, then base * (1 + cos(pi * t)) / 2
 * with t going 0 -> 1 over the rest.
 */
float nn_lr_cosine(float base, long step, long total, long warmup);
/* Floats of state that a checkpoint must keep (m, then v). */
size_t nn_opt_state_len(const struct nn_opt *o);
/*
 * One update of every parameter from grads. Weight decay adds
 * weight_decay * w to the gradient of weights (not of biases); AdamW
 * takes lr * weight_decay * w off weights instead. State (BN's running
 * statistics) moves towards what the passes left in its gradient slots:
 * s = (1 - NN_BN_MOMENTUM) s + NN_BN_MOMENTUM g.
 */
void nn_opt_step(struct nn_opt *o, nn_net *net, const float *grads);
/*
 * The same step split across threads: nn_opt_begin once, then
 * nn_opt_step_part on disjoint ranges [lo, hi) of the parameters, each
 * with the sum of ngrads gradient arrays (summed in array order, so the
 * result depends only on ngrads, not on timing).
 */
void nn_opt_begin(struct nn_opt *o);
void nn_opt_step_part(struct nn_opt *o, nn_net *net, const float *const *grads,
                      int ngrads, size_t lo, size_t hi);

/*
 * A team: T threads training an all-dense net (flatten, dense, ReLU,
 * sigmoid, dropout: the linear and MLP architectures) together on each
 * whole batch, every weight matrix split by rows (input units), so that
 * each thread keeps computing with and updating the same slice of each
 * (why: nn_team.c). Same T, same bytes; a different T sums in another
 * order.
 */
typedef struct nn_team nn_team;
int nn_team_fits(const nn_net *net);
/* NULL when the net does not fit. */
nn_team *nn_team_new(nn_net *net, int T, int maxbatch);
void nn_team_free(nn_team *t);
/* maxbatch rows of nn_in_size floats: the threads fill the batch here. */
float *nn_team_input(nn_team *t);
/* The columns [c0, c1) of every input row that thread tid fills. It is
 * the only thread that reads them, so no barrier is needed after. */
void nn_team_cols(const nn_team *t, int tid, size_t *c0, size_t *c1);
/*
 * Thread tid's share of one training step on rows [0, n) of the input:
 * forward, backward and the optimiser (call nn_opt_begin once first).
 * Before it, the thread fills its columns (nn_team_cols) of rows [0, n)
 * of the input and the labels (or targets) of its loss rows,
 * [n*tid/T, n*(tid+1)/T). Every one of the T threads must call it (e.g.
 * as an nn_pool job); they wait for each other inside. Returns the summed
 * loss of its loss rows, and their number right in *correct.
 */
double nn_team_step(nn_team *t, int tid, struct nn_opt *o,
                    const uint16_t *labels, const float *targets, int n,
                    struct nn_rng *rng, int *correct);

#endif
