/*
 * params.h — the one contract for run parameters: one table row per
 * parameter {group, name, type, min, max, default, form bound, flags,
 * label, help} (params_list.h; kcgi's kvalid table is the model), one
 * architecture table and one optimiser table. The run form, the stored
 * run JSON, the preprocess worker and the train worker all walk it.
 */
#ifndef TY_PARAMS_H
#define TY_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "img.h"
#include "nn.h"
#include "util.h"

#define PARAMS_MAX_WIDTHS 8

/*
 * The architectures: ARCH(id, name, lists) — lists names the WIDTHS rows
 * it reads ("hidden,conv"); the others are neither read nor echoed. To
 * add one: a row here and its builder in the train worker
 * (train_arch_specs' table).
 */
#define PARAMS_ARCHS(ARCH)                                                     \
	ARCH(LINEAR, "linear", "")                                             \
	ARCH(MLP, "mlp", "hidden")                                             \
	ARCH(CNN, "cnn", "hidden,conv")                                        \
	ARCH(RESNET, "resnet", "widths,blocks")                                \
	ARCH(LSTM, "lstm", "hidden")

enum arch_kind {
#define ARCH_ENUM(id, name, lists) ARCH_##id,
	PARAMS_ARCHS(ARCH_ENUM)
#undef ARCH_ENUM
	    ARCH__MAX
};

struct arch_def {
	const char *name;
	const char *lists; /* the WIDTHS rows it reads, comma-separated */
};
extern const struct arch_def params_archs[ARCH__MAX];
/* Whether architecture a reads the WIDTHS row named list. */
int params_arch_reads(enum arch_kind a, const char *list);

/* The optimisers, in enum nn_opt_kind's order. */
extern const char *const params_opts[NN_OPT__MAX];

/* The learning-rate schedules. */
enum lr_schedule { SCHED_CONSTANT, SCHED_COSINE, SCHED__MAX };
extern const char *const params_schedules[SCHED__MAX];

enum param_type {
	PARAM_INT,
	PARAM_NUM,
	PARAM_F32,
	PARAM_BOOL,
	PARAM_SEED,
	PARAM_ARCH,
	PARAM_OPT,
	PARAM_SCHED,
	PARAM_FIT,
	PARAM_WIDTHS,
};

enum param_group { PARAM_TOP, PARAM_MODEL, PARAM_IMAGE };

enum param_flag {
	F_FORM = 1 << 0,
	F_PREP = 1 << 1,
	F_TRAIN = 1 << 2,
	F_NONZERO = 1 << 3,
};

/* Field types by row type. */
#define PARAM_FIELD_INT(n) int n;
#define PARAM_FIELD_NUM(n) double n;
#define PARAM_FIELD_F32(n) float n;
#define PARAM_FIELD_BOOL(n) int n;
#define PARAM_FIELD_SEED(n) uint64_t n;
#define PARAM_FIELD_ARCH(n) enum arch_kind n;
#define PARAM_FIELD_OPT(n) enum nn_opt_kind n;
#define PARAM_FIELD_SCHED(n) enum lr_schedule n;
#define PARAM_FIELD_FIT(n) enum img_fit n;
#define PARAM_FIELD_WIDTHS(f) int f[PARAMS_MAX_WIDTHS], n##f;

/*
 * One row as a struct field. A consumer embeds the fields so that its own
 * code reads p->epochs while the table walkers see p->run:
 *	union {
 *		struct params run;
 *		struct {
 *	#define PARAM PARAM_AS_FIELD
 *	#include "params_list.h"
 *	#undef PARAM
 *		};
 *	};
 */
#define PARAM_AS_FIELD(g, name, type, lo, hi, def, fmax, flags, label, help)   \
	PARAM_FIELD_##type(name)

struct params {
#define PARAM PARAM_AS_FIELD
#include "params_list.h"
#undef PARAM
};

enum param_id {
#define PARAM(g, name, type, lo, hi, def, fmax, flags, label, help)            \
	PARAM_ID_##name,
#include "params_list.h"
#undef PARAM
	PARAM__MAX
};

struct param {
	enum param_group group;
	const char *name; /* the JSON member inside group */
	enum param_type type;
	double min, max, def, form_max;
	unsigned flags;
	const char *label, *help;
	size_t off, noff; /* in struct params; noff: WIDTHS' count */
};
extern const struct param params_table[PARAM__MAX];

/* "model", "image" or NULL. */
const char *params_group_name(enum param_group g);

/* Every row's default. */
void params_defaults(struct params *p);

/*
 * Reads the rows with all of flags from j (the params object; groups are
 * its "model"/"image" members) into p; a member left out keeps p's value.
 * form: check against the run form's bounds. F32 values are rounded to
 * float. 0, or -1 with a message naming the member in err.
 */
int params_from_json(const cJSON *j, unsigned flags, int form, struct params *p,
                     char *err, size_t errlen) TY_WUR;

/*
 * Adds the rows with all of flags to j (groups become objects). A
 * WIDTHS row the architecture does not read is left out; an F_NONZERO
 * row only when not 0; a row still at its -1 default (not chosen yet).
 */
void params_to_json(const struct params *p, unsigned flags, cJSON *j);

/*
 * Reads text (a form field: "12", "0.001", "adam", "128,64") into row
 * r of p, checked against the form's bounds; 0, or -1 with a message for
 * the person in msg.
 */
int params_from_text(const struct param *r, const char *text, struct params *p,
                     char *msg, size_t len) TY_WUR;

#endif
