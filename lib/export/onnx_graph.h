/*
 * onnx_graph.h — building an ONNX graph with protobuf-c's generated
 * structs (onnx.pb-c.h, made at build time from Debian's onnx.proto):
 * every message and string in one arena, freed together, since the
 * structs hold plain pointers and a graph is a few hundred of them.
 *
 *	struct og b = {.err = err, .errlen = errlen};
 *	b.g = og_alloc(&b, sizeof(*b.g)); onnx__graph_proto__init(b.g);
 *	char *y = og_node(&b, "Relu", NULL, OG_IN(x), NULL, 0);
 *	... onnx__model_proto__pack(...); og_free(&b);
 */
#ifndef TY_ONNX_GRAPH_H
#define TY_ONNX_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "util.h"

struct og {
	void **blocks;
	size_t nblocks, cap;
	Onnx__GraphProto *g;
	size_t gcap_node, gcap_init;
	int ntensors;
	char *err;
	size_t errlen;
	int failed;
};

void *og_alloc(struct og *b, size_t n);
char *og_printf(struct og *b, const char *fmt, ...) TY_PRINTF(2, 3);
void og_free(struct og *b);
/* Records the first failure's message; returns -1. */
int og_fail(struct og *b, const char *fmt, ...) TY_PRINTF(2, 3);
/* Appends p to an arena-allocated pointer array (*arr, *n, *cap). */
void og_push(struct og *b, void ***arr, size_t *n, size_t *cap, void *p);
/* A new tensor name "what_N". */
char *og_fresh(struct og *b, const char *what);

/* Initializers (copied); return their names. */
char *og_init_f(struct og *b, const char *what, const float *data, size_t n,
                const int64_t *dims, int ndims);
char *og_init_i64(struct og *b, const char *what, const int64_t *v, int n);

struct og_attr {
	const char *name;
	int nints; /* 0: a single int i; > 0: ints */
	int64_t i;
	int64_t ints[4];
};

#define OG_IN(...) ((const char *const[]){__VA_ARGS__, NULL})

/* op(inputs...) -> a fresh tensor (or out when given); its name. Inputs
 * end at NULL (OG_IN); attrs has nattrs entries. */
char *og_node(struct og *b, const char *op, const char *out,
              const char *const *in, const struct og_attr *attrs, int nattrs);
/* The same with nout outputs, named ("" for an unused optional one). */
void og_node_outs(struct og *b, const char *op, char **outs, int nout,
                  const char *const *in, const struct og_attr *attrs,
                  int nattrs);
/* A float tensor's name, type and shape (dims < 0: the batch, "N"). */
Onnx__ValueInfoProto *og_value_info(struct og *b, const char *name,
                                    const int64_t *dims, int n);

#endif
