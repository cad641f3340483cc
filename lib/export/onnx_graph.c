/* onnx_graph.c — building an ONNX graph in an arena; see onnx_graph.h. */
#include "onnx_graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena ---- */

void *
og_alloc(struct og *b, size_t n)
{
	if (b->nblocks == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->blocks = xrealloc(b->blocks, b->cap * sizeof(void *));
	}
	void *p = xcalloc(1, n ? n : 1);
	b->blocks[b->nblocks++] = p;
	return p;
}

char *
og_printf(struct og *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (b->nblocks == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->blocks = xrealloc(b->blocks, b->cap * sizeof(void *));
	}
	b->blocks[b->nblocks++] = s;
	return s;
}

void
og_free(struct og *b)
{
	for (size_t i = 0; i < b->nblocks; i++)
		free(b->blocks[i]);
	free(b->blocks);
}

int
og_fail(struct og *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (b->err && b->errlen && !b->failed)
		vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
	b->failed = 1;
	return -1;
}

/* Appends p to an arena-allocated pointer array (*arr, *n, *cap). */
void
og_push(struct og *b, void ***arr, size_t *n, size_t *cap, void *p)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		void **na = og_alloc(b, nc * sizeof(void *));
		if (*n)
			memcpy(na, *arr, *n * sizeof(void *));
		*arr = na, *cap = nc;
	}
	(*arr)[(*n)++] = p;
}

/* ---- tensors, attributes, nodes ---- */
char *
og_fresh(struct og *b, const char *what)
{
	return og_printf(b, "%s_%d", what, b->ntensors++);
}

/* An initializer of float data (copied) with dims; returns its name. */
char *
og_init_f(struct og *b, const char *what, const float *data, size_t n,
          const int64_t *dims, int ndims)
{
	Onnx__TensorProto *t = og_alloc(b, sizeof(*t));
	onnx__tensor_proto__init(t);
	t->name = og_fresh(b, what);
	t->n_dims = (size_t)ndims;
	t->dims = og_alloc(b, (size_t)ndims * sizeof(int64_t));
	memcpy(t->dims, dims, (size_t)ndims * sizeof(int64_t));
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	/* raw_data is little-endian float32: this build's own order */
	t->has_raw_data = 1;
	t->raw_data.len = n * sizeof(float);
	t->raw_data.data = og_alloc(b, t->raw_data.len);
	if (n)
		memcpy(t->raw_data.data, data, n * sizeof(float));
	og_push(b, (void ***)&b->g->initializer, &b->g->n_initializer,
	        &b->gcap_init, t);
	return t->name;
}

char *
og_init_i64(struct og *b, const char *what, const int64_t *v, int n)
{
	Onnx__TensorProto *t = og_alloc(b, sizeof(*t));
	onnx__tensor_proto__init(t);
	t->name = og_fresh(b, what);
	t->n_dims = 1;
	t->dims = og_alloc(b, sizeof(int64_t));
	t->dims[0] = n;
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	t->n_int64_data = (size_t)n;
	t->int64_data = og_alloc(b, (size_t)n * sizeof(int64_t));
	memcpy(t->int64_data, v, (size_t)n * sizeof(int64_t));
	og_push(b, (void ***)&b->g->initializer, &b->g->n_initializer,
	        &b->gcap_init, t);
	return t->name;
}

static Onnx__AttributeProto *
mkattr(struct og *b, const struct og_attr *a)
{
	Onnx__AttributeProto *p = og_alloc(b, sizeof(*p));
	onnx__attribute_proto__init(p);
	p->name = (char *)a->name;
	p->has_type = 1;
	if (a->nints) {
		p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
		p->n_ints = (size_t)a->nints;
		p->ints = og_alloc(b, (size_t)a->nints * sizeof(int64_t));
		memcpy(p->ints, a->ints, (size_t)a->nints * sizeof(int64_t));
	} else {
		p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
		p->has_i = 1;
		p->i = a->i;
	}
	return p;
}

char *
og_node(struct og *b, const char *op, const char *out, const char *const *in,
        const struct og_attr *attrs, int nattrs)
{
	char *o = out ? (char *)out : og_fresh(b, "t");
	og_node_outs(b, op, &o, 1, in, attrs, nattrs);
	return o;
}

void
og_node_outs(struct og *b, const char *op, char **outs, int nout,
             const char *const *in, const struct og_attr *attrs, int nattrs)
{
	Onnx__NodeProto *n = og_alloc(b, sizeof(*n));
	onnx__node_proto__init(n);
	n->op_type = (char *)op;
	n->name = og_fresh(b, op);
	size_t ni = 0;
	while (in[ni])
		ni++;
	n->n_input = ni;
	n->input = og_alloc(b, ni * sizeof(char *));
	memcpy(n->input, in, ni * sizeof(char *));
	n->n_output = (size_t)nout;
	n->output = og_alloc(b, (size_t)nout * sizeof(char *));
	memcpy(n->output, outs, (size_t)nout * sizeof(char *));
	n->n_attribute = (size_t)nattrs;
	n->attribute = og_alloc(b, (size_t)nattrs * sizeof(void *));
	for (int i = 0; i < nattrs; i++)
		n->attribute[i] = mkattr(b, &attrs[i]);
	og_push(b, (void ***)&b->g->node, &b->g->n_node, &b->gcap_node, n);
}

Onnx__ValueInfoProto *
og_value_info(struct og *b, const char *name, const int64_t *dims, int n)
{
	Onnx__ValueInfoProto *v = og_alloc(b, sizeof(*v));
	onnx__value_info_proto__init(v);
	v->name = (char *)name;
	Onnx__TypeProto *t = og_alloc(b, sizeof(*t));
	onnx__type_proto__init(t);
	Onnx__TypeProto__Tensor *tt = og_alloc(b, sizeof(*tt));
	onnx__type_proto__tensor__init(tt);
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	Onnx__TensorShapeProto *sh = og_alloc(b, sizeof(*sh));
	onnx__tensor_shape_proto__init(sh);
	sh->n_dim = (size_t)n;
	sh->dim = og_alloc(b, (size_t)n * sizeof(void *));
	for (int i = 0; i < n; i++) {
		Onnx__TensorShapeProto__Dimension *d = og_alloc(b, sizeof(*d));
		onnx__tensor_shape_proto__dimension__init(d);
		if (dims[i] < 0) { /* the batch */
			d->value_case =
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			d->dim_param = "N";
		} else {
			d->value_case =
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			d->dim_value = dims[i];
		}
		sh->dim[i] = d;
	}
	tt->shape = sh;
	t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	t->tensor_type = tt;
	v->type = t;
	return v;
}
