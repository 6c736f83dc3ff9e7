// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * make bench: ns per in-kernel inference (the live model, evaluated by the
 * syscall program through the same slot lookup and walk as the hooks, timed
 * inside the kernel around a bpf_loop) beside the userspace reference
 * evaluator on the same vectors, and the map bytes per model version.
 * Runs in a private bpffs; prints a Markdown table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fragml_load.h"
#include "../host/testlib.h"

#define NVEC 4096

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void)
{
	static const struct { const char *name; unsigned int trees, depth; } shapes[] = {
		{ "single leaf (fixed cost)", 1, 0 },
		{ "single tree, depth 4", 1, 4 },
		{ "single tree, depth 8", 1, 8 },
		{ "single tree, depth 12", 1, 12 },
		{ "8 trees, depth 6", 8, 6 },
		{ "32 trees, depth 6", 32, 6 },
	};
	struct fragml_open_opts oo = { .install = true, .no_policy = true, .no_observe = true };
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_vec *v = calloc(NVEC, sizeof(*v)), *same = calloc(NVEC, sizeof(*same));
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	char bpffs[64];
	uint64_t seed = 99;
	volatile uint32_t sink = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "bench_infer: needs root to load BPF programs\n");
		return 1;
	}
	if (!m || !v || !same || tl_private_bpffs(bpffs, sizeof(bpffs))) {
		fprintf(stderr, "bench_infer: cannot set up a private bpffs\n");
		return 1;
	}
	oo.bpffs = bpffs;
	if (fragml_open(&h, &oo, NULL, &err)) {
		fprintf(stderr, "bench_infer: %s\n", err.msg);
		tl_release_bpffs(bpffs);
		return 1;
	}
	printf("| model | nodes | in-kernel ns/inference | reference ns/inference | ratio | in-kernel ns, one repeated vector | map bytes |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (unsigned int s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		const unsigned int repeat = 256;	/* 1M evaluations */
		uint32_t version = 0;
		uint64_t kns = 0, best = UINT64_MAX, best_same = UINT64_MAX;
		double t0, uns, ubest = 1e300;

		tl_random_model(m, FRAGML_HOOK_LIFETIME, shapes[s].trees, shapes[s].depth, 0, 500 + s);
		/* vectors with no missing values, so every walk goes full depth */
		tl_random_vecs(m, v, NVEC, &seed);
		for (unsigned int i = 0; i < NVEC; i++)
			for (int f = 0; f < FRAGML_MAX_FEATURES; f++)
				if (v[i].f[f] == FRAGML_MISSING)
					v[i].f[f] = (int32_t)(i % 100);
		if (fragml_publish(h, m, &version, &err)) {
			fprintf(stderr, "bench_infer: %s\n", err.msg);
			break;
		}
		for (int rep = 0; rep < 5; rep++) {
			if (fragml_kernel_bench(h, FRAGML_HOOK_LIFETIME, v, NVEC, repeat, &kns, &err) < 0) {
				fprintf(stderr, "bench_infer: %s\n", err.msg);
				goto out;
			}
			if (kns < best)
				best = kns;
			t0 = now_ns();
			for (unsigned int r = 0; r < repeat; r++)
				for (unsigned int i = 0; i < NVEC; i++)
					sink += fragml_model_eval(m, v[i].f, NULL);
			uns = now_ns() - t0;
			if (uns < ubest)
				ubest = uns;
		}
		/* the same walk every time: branch prediction at its best */
		for (unsigned int i = 1; i < NVEC; i++)
			same[i] = v[0];
		same[0] = v[0];
		for (int rep = 0; rep < 5; rep++) {
			if (fragml_kernel_bench(h, FRAGML_HOOK_LIFETIME, same, NVEC, repeat, &kns, &err) < 0) {
				fprintf(stderr, "bench_infer: %s\n", err.msg);
				goto out;
			}
			if (kns < best_same)
				best_same = kns;
		}
		double kper = (double)best / (NVEC * repeat), uper = ubest / (NVEC * repeat);
		struct fragml_hook_status st = { 0 };

		fragml_status(h, FRAGML_HOOK_LIFETIME, &st, NULL);	/* map bytes: from the kernel */

		printf("| %s | %u | %.1f | %.1f | %.2f | %.1f | %llu |\n", shapes[s].name, m->n_nodes, kper,
		       uper, kper / uper, (double)best_same / (NVEC * repeat),
		       (unsigned long long)st.map_bytes);
	}
out:
	(void)sink;
	fragml_close(h);
	fragml_detach(&oo, NULL);
	tl_release_bpffs(bpffs);
	free(m);
	free(v);
	free(same);
	return 0;
}
