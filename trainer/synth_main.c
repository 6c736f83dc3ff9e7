// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml-synth: a SYNTHETIC collector-format dataset, for `make models` until
 * real collections exist, and for trying the trainer.  The rows follow the
 * collector CSV (docs/dataset.md) and the registry's units, but the labels come
 * from hand-written, noisy rules below -- not from a kernel.  Models trained on
 * it say so in their provenance file.  Deterministic: same seed, same bytes.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragml_dataset.h"

static const char *prog = "fragml-synth";
static uint64_t rng_state;

/* splitmix64: tiny, portable, same stream on every libc */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }
static int irange(int lo, int hi) { return lo + (int)(unif() * (hi - lo + 1)); }
static int chance(double p) { return unif() < p; }
static double sigm(double z) { return 1 / (1 + exp(-z)); }

struct workload {
	const char *name;
	double mix[FRAGML_NR_CLASSES];	/* lifetime: class mix */
	double pressure;		/* 0..1: fragmentation pressure */
	double thp_dense;		/* thp: share of dense regions */
};

static const struct workload wls[] = {
	{ "kbuild",       { 3, 4, 3, 1, 0.5, 0.2, 0.5, 0.5 }, 0.4, 0.4 },
	{ "redis",        { 6, 1, 1, 0.5, 0.1, 2, 0.1, 0.2 }, 0.5, 0.8 },
	{ "pipe_scatter", { 1, 0.5, 1, 0.5, 0.2, 0.2, 6, 0.5 }, 0.9, 0.5 },
	{ "socket_churn", { 1, 0.5, 2, 0.5, 0.2, 6, 0.2, 0.5 }, 0.8, 0.5 },
	{ "memcached",    { 5, 1, 2, 0.5, 0.2, 2, 0.1, 0.3 }, 0.5, 0.7 },
	{ "fork_storm",   { 2, 1, 2, 5, 3, 0.2, 0.5, 0.5 }, 0.7, 0.3 },
	{ "tmpfs_churn",  { 1, 6, 2, 0.5, 0.1, 0.1, 0.1, 0.5 }, 0.3, 0.4 },
	{ "sysbench_mem", { 7, 1, 0.5, 0.5, 0.1, 0.1, 0.1, 0.2 }, 0.2, 0.9 },
};
#define NWL (sizeof(wls) / sizeof(wls[0]))

static unsigned int pick_class(const struct workload *w)
{
	double tot = 0, u;

	for (int c = 0; c < FRAGML_NR_CLASSES; c++)
		tot += w->mix[c];
	u = unif() * tot;
	for (int c = 0; c < FRAGML_NR_CLASSES; c++) {
		if (u < w->mix[c])
			return (unsigned int)c;
		u -= w->mix[c];
	}
	return FRAGML_CLASS_KERNEL;
}

/* Lifetime: is the page still allocated after T (pins its pageblock)? */
static unsigned int gen_lifetime(const struct workload *w, int32_t *x, unsigned int *cls)
{
	static const double base_long[FRAGML_NR_CLASSES] = {
		[FRAGML_CLASS_ANON] = -2.0, [FRAGML_CLASS_PAGECACHE] = -0.5, [FRAGML_CLASS_SLAB] = 0.0,
		[FRAGML_CLASS_PAGETABLE] = 2.0, [FRAGML_CLASS_KSTACK] = 0.5, [FRAGML_CLASS_NET] = -0.5,
		[FRAGML_CLASS_PIPE] = 1.0, [FRAGML_CLASS_KERNEL] = 1.5,
	};
	unsigned int c = pick_class(w);
	int mt = c == FRAGML_CLASS_ANON || c == FRAGML_CLASS_PAGECACHE ? FRAGML_MT_MOVABLE :
		 c == FRAGML_CLASS_SLAB && chance(0.5) ? FRAGML_MT_RECLAIMABLE : FRAGML_MT_UNMOVABLE;
	double z;

	*cls = c;
	x[FRAGML_F_ORDER] = chance(0.85) ? 0 : irange(1, 3);
	x[FRAGML_F_MIGRATETYPE] = mt;
	if (chance(0.3 + 0.5 * w->pressure)) {
		x[FRAGML_F_FALLBACK_MT] = mt == FRAGML_MT_MOVABLE ? FRAGML_MT_UNMOVABLE : FRAGML_MT_MOVABLE;
		x[FRAGML_F_CHANGE_OWNER] = chance(0.4);
	}
	x[FRAGML_F_ALLOC_CLASS] = (int32_t)c;
	/* __GFP_MOVABLE is 0x8, __GFP_RECLAIMABLE 0x10 */
	x[FRAGML_F_GFP_BITS] = 0x400cc0 | (mt == FRAGML_MT_MOVABLE ? 0x8 : 0) | (c == FRAGML_CLASS_SLAB ? 0x10 : 0);
	x[FRAGML_F_IS_KTHREAD] = chance(c == FRAGML_CLASS_KERNEL ? 0.6 : 0.05);
	x[FRAGML_F_TASK_ALLOC_RATE] = (int32_t)fmin(1e6, exp(unif() * 12));
	x[FRAGML_F_EXTFRAG_RATE] = (int32_t)(w->pressure * 5000 * unif());
	if (c == FRAGML_CLASS_SLAB)
		x[FRAGML_F_SLAB_OBJ_LOG2] = irange(3, 13);
	/* the process's recent history of long-lived pages: the strongest signal */
	{
		double p = sigm(base_long[c] + 1.5 * w->pressure - 1.0 + 0.8 * (unif() - 0.5));

		x[FRAGML_F_TASK_LONG_PPK] = (int32_t)(1024 * fmin(1, fmax(0, p + 0.15 * (unif() - 0.5))));
		z = base_long[c] + 6.0 * (x[FRAGML_F_TASK_LONG_PPK] / 1024.0 - 0.5) +
		    (x[FRAGML_F_SLAB_OBJ_LOG2] != FRAGML_MISSING ? 0.3 * (x[FRAGML_F_SLAB_OBJ_LOG2] - 8) : 0) -
		    0.3 * log10(1 + x[FRAGML_F_TASK_ALLOC_RATE]) + 0.8;
	}
	return chance(sigm(3 * z));
}

/* THP fault: will the 2 MB region become dense and live long enough? */
static unsigned int gen_thp(const struct workload *w, int32_t *x)
{
	double dens = fmin(1, fmax(0, w->thp_dense + 0.35 * (unif() - 0.5)));
	double z;

	x[FRAGML_F_ORDER] = 9;
	x[FRAGML_F_GFP_BITS] = 0x4cc2 | (chance(0.5) ? 0x400000 : 0);
	x[FRAGML_F_TASK_ALLOC_RATE] = (int32_t)fmin(1e6, exp(unif() * 13));
	x[FRAGML_F_EXTFRAG_RATE] = (int32_t)(w->pressure * 5000 * unif());
	x[FRAGML_F_VMA_PAGES_LOG2] = irange(0, 22);
	x[FRAGML_F_VMA_HUGE_ADVISED] = chance(0.5);
	x[FRAGML_F_REGION_IN_VMA] = x[FRAGML_F_VMA_PAGES_LOG2] >= 9 ? chance(0.9) : 0;
	x[FRAGML_F_MM_RSS_LOG2] = irange(4, 22);
	x[FRAGML_F_TASK_THP_RATE] = (int32_t)(unif() * 2000);
	x[FRAGML_F_TASK_DENSITY_PPK] = chance(0.1) ? FRAGML_MISSING : (int32_t)(1024 * dens);
	x[FRAGML_F_FREE_HUGE_BLOCKS] = (int32_t)((1 - w->pressure) * 400 * unif());
	x[FRAGML_F_UNUSABLE_PPK] = (int32_t)(1024 * fmin(1, w->pressure * (0.6 + 0.6 * unif())));
	x[FRAGML_F_COMPACT_FAIL_PPK] = (int32_t)(1024 * fmin(1, w->pressure * unif()));
	if (!x[FRAGML_F_REGION_IN_VMA])
		return chance(0.03);
	z = 8 * (dens - 0.55) + 0.4 * (x[FRAGML_F_VMA_HUGE_ADVISED]) +
	    0.15 * (x[FRAGML_F_VMA_PAGES_LOG2] - 12) + 0.6 * (unif() - 0.5);
	return chance(sigm(3 * z));
}

/* Compaction: will this attempt succeed at the requested order? */
static unsigned int gen_compaction(const struct workload *w, int32_t *x)
{
	double unus = fmin(1, w->pressure * (0.5 + 0.8 * unif()));
	double z;

	x[FRAGML_F_ORDER] = chance(0.7) ? 9 : irange(2, 10);
	x[FRAGML_F_IS_KTHREAD] = chance(0.2);
	x[FRAGML_F_EXTFRAG_RATE] = (int32_t)(w->pressure * 5000 * unif());
	x[FRAGML_F_FREE_HUGE_BLOCKS] = (int32_t)((1 - unus) * 300 * unif());
	x[FRAGML_F_UNUSABLE_PPK] = (int32_t)(1024 * unus);
	x[FRAGML_F_COMPACT_FAIL_PPK] = (int32_t)(1024 * fmin(1, fmax(0, unus - 0.3 + 0.4 * unif())));
	x[FRAGML_F_COMPACT_PRIO] = irange(0, 2);
	x[FRAGML_F_ZONE_FREE_LOG2] = irange(8, 20);
	x[FRAGML_F_FRAG_INDEX] = x[FRAGML_F_ZONE_FREE_LOG2] > 17 ? -1000 : irange(0, 1000);
	x[FRAGML_F_IS_KCOMPACTD] = chance(0.3);
	x[FRAGML_F_COMPACT_DEFER] = irange(0, 6);
	z = -5 * (x[FRAGML_F_COMPACT_FAIL_PPK] / 1024.0 - 0.45) -
	    0.4 * (x[FRAGML_F_COMPACT_PRIO] - 1) + 0.25 * (x[FRAGML_F_ZONE_FREE_LOG2] - 14) -
	    0.3 * (x[FRAGML_F_ORDER] - 7) - 0.2 * x[FRAGML_F_COMPACT_DEFER] + 0.5 * (unif() - 0.5);
	return chance(sigm(3 * z));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hook", required_argument, NULL, 'H' },
		{ "rows", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *hook_s = NULL, *out = NULL;
	long rows = 20000;
	struct fragml_dataset ds;
	struct fragml_err err = { 0 };
	int c, hook, ret = 1;

	rng_state = 1;
	while ((c = getopt_long(argc, argv, "H:n:s:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': hook_s = optarg; break;
		case 'n': rows = atol(optarg); break;
		case 's': rng_state = strtoull(optarg, NULL, 0); break;
		case 'o': out = optarg; break;
		case 'h':
			printf("Usage: %s --hook HOOK [--rows N] [--seed S] -o FILE.csv\n"
			       "Write a SYNTHETIC collector-format dataset (labels from hand-written noisy\n"
			       "rules, %zu workloads).  For trying the trainer and for `make models` until a\n"
			       "real collection exists; never a substitute for one.\n", prog, NWL);
			return 0;
		default:
			return 2;
		}
	}
	if (!hook_s || !out || rows < 1) {
		fprintf(stderr, "%s: --hook and --output are required (see --help)\n", prog);
		return 2;
	}
	hook = fragml_hook_from_name(hook_s);
	if (hook != FRAGML_HOOK_LIFETIME && hook != FRAGML_HOOK_THP_FAULT && hook != FRAGML_HOOK_COMPACTION) {
		fprintf(stderr, "%s: --hook '%s': lifetime, thp_fault or compaction (the hooks with synthetic rules)\n",
			prog, hook_s);
		return 2;
	}
	fragml_dataset_init(&ds);
	for (long i = 0; i < rows; i++) {
		const struct workload *w = &wls[i % NWL];
		int32_t x[FRAGML_MAX_FEATURES];
		/* thp_fault rows are anonymous memory; compaction rows carry a zone */
		unsigned int cls = hook == FRAGML_HOOK_COMPACTION ? FRAGML_CLASS_UNKNOWN : FRAGML_CLASS_ANON;
		unsigned int label;
		char src[32];

		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			x[k] = FRAGML_MISSING;
		if (hook == FRAGML_HOOK_LIFETIME)
			label = gen_lifetime(w, x, &cls);
		else if (hook == FRAGML_HOOK_THP_FAULT)
			label = gen_thp(w, x);
		else
			label = gen_compaction(w, x);
		snprintf(src, sizeof(src), "%s", hook == FRAGML_HOOK_LIFETIME ? fragml_class_name(cls) : w->name);
		if (fragml_dataset_add_row(&ds, (uint64_t)(i / NWL) * 1000000ull + 1000, w->name,
					   (unsigned int)hook, cls, src, x, label, &err)) {
			fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
			goto out;
		}
	}
	if (fragml_dataset_write_csv(&ds, out, &err)) {
		fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
		goto out;
	}
	ret = 0;
out:
	fragml_dataset_free(&ds);
	return ret;
}
