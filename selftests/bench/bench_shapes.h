/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Models of `make bench-infer`: built by tl_random_model() from these shapes
 * and seeds, both by the benchmark and by gen_ifelse, which writes the same
 * models as native if-else C at build time.
 */
#ifndef BENCH_SHAPES_H
#define BENCH_SHAPES_H

#include "fragml_features.h"

struct bench_shape {
	const char *name;
	unsigned int trees, depth;
};

static const struct bench_shape bench_shapes[] = {
	{ "single leaf (fixed cost)", 1, 0 },
	{ "1 tree, depth 4", 1, 4 },
	{ "1 tree, depth 8", 1, 8 },
	{ "1 tree, depth 12", 1, 12 },
	{ "4 trees, depth 6", 4, 6 },
	{ "8 trees, depth 6", 8, 6 },
	{ "32 trees, depth 6", 32, 6 },
	{ "64 trees, depth 6", 64, 6 },
};
#define BENCH_NSHAPES	(sizeof(bench_shapes) / sizeof(bench_shapes[0]))
#define BENCH_HOOK	FRAGML_HOOK_LIFETIME
#define BENCH_SEED(s)	(500 + (s))

#endif /* BENCH_SHAPES_H */
