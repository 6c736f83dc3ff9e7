// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * make bench-infer: ns per decision, in one run, for
 *   - the C reference evaluator (fragml_model_eval, userspace),
 *   - the same model compiled natively as if-else code (gen_ifelse, build time),
 *   - the in-kernel map evaluator, decided exactly like a hook (fragml_decide:
 *     slot lookup, walk, count), timed inside the kernel around a bpf_loop by
 *     the fragml_eval_batch syscall program (BPF_PROG_TEST_RUN),
 *   - the compiled form (loader/compile.c) reached like a hook reaches it (the
 *     vector in the per-CPU input, a tail call through the program array),
 *     timed by the raw_tp program fragml_test_batch_rt in runs of 32 decisions
 *     (a run makes at most 33 tail calls), and the map evaluator in that same
 *     harness (the compiled slot left empty),
 * on vectors that go to full depth (random, no missing value) and on one
 * vector repeated (branch prediction at its best).  The in-kernel figure is
 * net of the loop's own cost (a pass that only fetches the vectors), which is
 * printed apart, as is the cost of one BPF_PROG_TEST_RUN call, the dispatch
 * of an empty program (test run with repeat) and the cost of a swap to a new
 * compiled version (code generation + verifier + JIT).  Every figure
 * is the median of ROUNDS interleaved rounds.  Runs in a private bpffs;
 * prints Markdown.  BENCH_ROUNDS overrides the number of rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fragml_load.h"
#include "../host/testlib.h"
#include "bench_shapes.h"
#include "bench_ifelse.h"

#define NVEC	4096
#define REPEAT	64	/* 262 144 decisions per timing */

/* CPU time of this thread: time the shared machine's other jobs hold the
 * CPU is not counted (the in-kernel figures are timed inside the kernel). */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ns per decision of one in-kernel pass through `evaluator`. */
static int kernel_pass(struct fragml_handle *h, unsigned int evaluator, const struct fragml_vec *v,
		       unsigned int flags, double *ns, struct fragml_err *err)
{
	unsigned int repeat = evaluator == FRAGML_EVAL_MAP ? REPEAT : REPEAT / 4;
	uint64_t kns = 0;

	fragml_set_evaluator(h, evaluator);
	if (fragml_kernel_bench(h, BENCH_HOOK, v, NVEC, repeat, flags, &kns, err) < 0)
		return -1;
	*ns = (double)kns / (NVEC * repeat);
	return 0;
}

/* Net ns per decision (pass - the same pass fetching the vectors only). */
static int kernel_net(struct fragml_handle *h, unsigned int evaluator, const struct fragml_vec *v,
		      double *net, double *empty, struct fragml_err *err)
{
	double full;

	if (kernel_pass(h, evaluator, v, FRAGML_TEST_F_COUNT, &full, err) ||
	    kernel_pass(h, evaluator, v, FRAGML_TEST_F_EMPTY, empty, err))
		return -1;
	*net = full - *empty;
	return 0;
}

/* ns per run of an empty program (r0 = 0; exit), BPF_PROG_TEST_RUN with repeat:
 * what the kernel spends to call a BPF program, before its body. */
static double empty_dispatch(void)
{
	struct bpf_insn in[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1000000);
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "frgm_empty", "GPL", in, 2, NULL);
	double ns = -1;

	if (fd >= 0 && bpf_prog_test_run_opts(fd, &t) == 0)
		ns = t.duration;	/* ns per run, averaged by the kernel */
	if (fd >= 0)
		close(fd);
	return ns;
}

int main(void)
{
	struct fragml_open_opts oo = { .install = true, .no_policy = true, .no_observe = true,
				       .test_run = true };
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_vec *rnd = calloc(NVEC, sizeof(*rnd)), *same = calloc(NVEC, sizeof(*same));
	const char *env = getenv("BENCH_ROUNDS");
	int rounds = env ? atoi(env) : 11;
	double *kd = calloc(64, sizeof(double)), *rd = calloc(64, sizeof(double)),
	       *nd = calloc(64, sizeof(double)), *ed = calloc(64, sizeof(double)),
	       *cd = calloc(64, sizeof(double)), *md = calloc(64, sizeof(double)),
	       *ced = calloc(64, sizeof(double)), *swap = calloc(64, sizeof(double));
	double disp[64];
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	char bpffs[64];
	uint64_t seed = 99;
	volatile uint64_t sink = 0;
	int ret = 1;

	if (rounds < 1 || rounds > 64)
		rounds = 11;
	if (geteuid() != 0) {
		fprintf(stderr, "bench_infer: needs root to load BPF programs\n");
		return 1;
	}
	if (!m || !rnd || !same || !kd || !rd || !nd || !ed || !cd || !md || !ced || !swap ||
	    tl_private_bpffs(bpffs, sizeof(bpffs))) {
		fprintf(stderr, "bench_infer: cannot set up a private bpffs\n");
		return 1;
	}
	oo.bpffs = bpffs;
	if (fragml_open(&h, &oo, NULL, &err)) {
		fprintf(stderr, "bench_infer: %s\n", err.msg);
		tl_release_bpffs(bpffs);
		return 1;
	}
	printf("| model | nodes | vectors | C reference ns | native if-else ns | map evaluator ns | map evaluator, 32 per run ns | compiled ns | compiled / reference | compiled / if-else | compiled / map | map bytes | compiled insns |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (unsigned int s = 0; s < BENCH_NSHAPES; s++) {
		struct fragml_hook_status st = { 0 };
		struct fragml_compiled_info ci;
		uint32_t version = 0;

		tl_random_model(m, BENCH_HOOK, bench_shapes[s].trees, bench_shapes[s].depth, 0,
				BENCH_SEED(s));
		/* vectors with no missing values, so every walk goes full depth */
		tl_random_vecs(m, rnd, NVEC, &seed);
		for (unsigned int i = 0; i < NVEC; i++)
			for (int f = 0; f < FRAGML_MAX_FEATURES; f++)
				if (rnd[i].f[f] == FRAGML_MISSING)
					rnd[i].f[f] = (int32_t)(i % 100);
		for (unsigned int i = 0; i < NVEC; i++) {
			struct fragml_eval_out ref;
			int64_t score;

			same[i] = rnd[0];
			fragml_model_eval(m, rnd[i].f, &ref);
			if (ifelse_fn[s](rnd[i].f, &score) != ref.action || score != ref.score) {
				fprintf(stderr, "bench_infer: %s: generated code disagrees with the reference on vector %u: rebuild\n",
					bench_shapes[s].name, i);
				goto out;
			}
		}
		if (fragml_publish(h, m, &version, &err)) {
			fprintf(stderr, "bench_infer: %s\n", err.msg);
			goto out;
		}
		fragml_status(h, BENCH_HOOK, &st, NULL);	/* map bytes: from the kernel */
		ci = *fragml_compiled_last(h);
		if (!ci.compiled)
			fprintf(stderr, "bench_infer: %s: %s\n", bench_shapes[s].name, ci.note);
		swap[s] = ci.load_ns / 1e6;
		for (int set = 0; set < 2; set++) {
			const struct fragml_vec *v = set ? same : rnd;

			for (int r = 0; r < rounds; r++) {
				double t0, empty;
				int64_t score;

				if (kernel_net(h, FRAGML_EVAL_MAP, v, &kd[r], &ed[r], &err) ||
				    kernel_net(h, FRAGML_EVAL_COMPILED, v, &cd[r], &ced[r], &err)) {
					fprintf(stderr, "bench_infer: %s\n", err.msg);
					goto out;
				}
				/* the map evaluator in the compiled form's harness */
				if (kernel_net(h, FRAGML_EVAL_MAP_RT, v, &md[r], &empty, &err)) {
					fprintf(stderr, "bench_infer: %s\n", err.msg);
					goto out;
				}
				t0 = now_ns();
				for (unsigned int k = 0; k < REPEAT; k++)
					for (unsigned int i = 0; i < NVEC; i++)
						sink += fragml_model_eval(m, v[i].f, NULL);
				rd[r] = (now_ns() - t0) / (NVEC * REPEAT);
				t0 = now_ns();
				for (unsigned int k = 0; k < REPEAT; k++)
					for (unsigned int i = 0; i < NVEC; i++)
						sink += ifelse_fn[s](v[i].f, &score);
				nd[r] = (now_ns() - t0) / (NVEC * REPEAT);
			}
			double kmed = median(kd, rounds), rmed = median(rd, rounds), nmed = median(nd, rounds);
			double cmed = ci.compiled ? median(cd, rounds) : -1, mmed = median(md, rounds);

			printf("| %s | %u | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %llu | %u |\n",
			       bench_shapes[s].name, m->n_nodes, set ? "one, repeated" : "full depth",
			       rmed, nmed, kmed, mmed, cmed, cmed / rmed, cmed / nmed, cmed / kmed,
			       (unsigned long long)st.map_bytes, ci.insns);
			if (s == 0 && set == 0) {
				fprintf(stderr, "loop cost (bpf_loop step + vector fetch), subtracted: %.1f ns\n",
					median(ed, rounds));
				fprintf(stderr, "compiled harness cost (iterator step + call + fetch + copy into the per-CPU input), subtracted: %.1f ns\n",
					median(ced, rounds));
			}
		}
	}
	for (int r = 0; r < rounds; r++)
		disp[r] = empty_dispatch();
	printf("\nDispatch of an empty program (BPF_PROG_TEST_RUN, repeat 10^6, socket filter): %.1f ns per run; not in any figure above.\n",
	       median(disp, rounds));
	printf("\nA swap to a new compiled version (code generation + verifier + JIT, in fragml_publish):");
	for (unsigned int s = 0; s < BENCH_NSHAPES; s++)
		printf(" %s %.1f ms%s", bench_shapes[s].name, swap[s], s + 1 < BENCH_NSHAPES ? ";" : ".\n");
	fragml_set_evaluator(h, FRAGML_EVAL_MAP);
	/* the dispatch of one BPF_PROG_TEST_RUN call (plus one vector update), from userspace */
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();
		uint64_t kns;

		for (int i = 0; i < 1000; i++)
			fragml_kernel_bench(h, BENCH_HOOK, rnd, 1, 1, FRAGML_TEST_F_EMPTY, &kns, NULL);
		ed[r] = (now_ns() - t0) / 1000;
	}
	printf("\nOne BPF_PROG_TEST_RUN call of fragml_eval_batch with one vector (one map update + the syscall), from userspace: %.0f ns; in-kernel figures above exclude it.\n",
	       median(ed, rounds));
	ret = 0;
out:
	(void)sink;
	fragml_close(h);
	fragml_detach(&oo, NULL);
	tl_release_bpffs(bpffs);
	free(m);
	free(rnd);
	free(same);
	free(kd);
	free(rd);
	free(nd);
	free(ed);
	free(cd);
	free(md);
	free(ced);
	free(swap);
	return ret;
}
