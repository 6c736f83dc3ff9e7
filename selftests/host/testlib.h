/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Model and vector generators shared by the host selftests and `make bench`. */
#ifndef FRAGML_TESTLIB_H
#define FRAGML_TESTLIB_H

#include <stdint.h>

#include "fragml_model.h"

/* xorshift64*: deterministic, seedable. */
uint64_t tl_rand(uint64_t *s);

/*
 * A random ensemble for `hook`: n_trees full trees of `depth` over the
 * features that hook computes, thresholds from a small pool (so vectors hit
 * them exactly), random default directions and leaves.  ARGMAX when
 * `argmax`, else ORDINAL with n_actions-1 thresholds.
 */
void tl_random_model(struct fragml_model *m, unsigned int hook, unsigned int n_trees,
		     unsigned int depth, int argmax, uint64_t seed);

/* Vectors mixing thresholds, threshold +-1, 0, limits, missing, random. */
void tl_random_vecs(const struct fragml_model *m, struct fragml_vec *v, unsigned int n,
		    uint64_t *seed);

/*
 * MB of unmovable pages a burst needs to force migratetype fallbacks: what the
 * free lists of unmovable pageblocks hold (/proc/pagetypeinfo, all zones) plus
 * `margin_mb`, at most `cap_mb`.
 */
int tl_fallback_burst_mb(int margin_mb, int cap_mb);

/* build/bin of the build tree this test binary (build/selftests/host/X) belongs to. */
void tl_bindir(char *out, unsigned int len);
/* The source tree this test was built from (build/..). */
void tl_topdir(char *out, unsigned int len);

/* Mount a private bpffs on a fresh temp dir; returns 0 and fills dir. */
int tl_private_bpffs(char *dir, unsigned int len);
void tl_release_bpffs(const char *dir);

#endif
