// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Foundation selftests against the running kernel: in-kernel/reference parity,
 * atomic hot swap, rollback, malformed models refused with the running model
 * intact, and clear errors without root, BTF or bpffs.  Each test works in a
 * private bpffs mount, so a live fragml install is never touched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>	/* struct clone_args, CLONE_INTO_CGROUP */
#include <signal.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"

#include "fragml_load.h"
#include "fragml_collect_events.h"
#include "fragml_identify.h"
#include "testlib.h"

#define BATCH 4096

static char bindir[512];


/* Run a shell command; capture stderr's first line; return exit status. */
static int run(const char *cmd, char *errline, size_t len)
{
	char full[2048];
	FILE *p;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1 >/dev/null", cmd);
	p = popen(full, "r");
	if (!p)
		return -1;
	errline[0] = '\0';
	if (!fgets(errline, (int)len, p))
		errline[0] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

FIXTURE(live) {
	char bpffs[64];
	struct fragml_handle *h;
	struct fragml_model *a, *b;
	struct fragml_vec *vecs;
	struct fragml_result *res;
};

/*
 * Every evaluator a hook can use: the map evaluator, and the compiled program
 * of each version (reached like a hook reaches it, by a tail call; where the
 * kernel refuses it the compiled variant SKIPs with the kernel's reason).
 */
FIXTURE_VARIANT(live) {
	unsigned int evaluator;
};
FIXTURE_VARIANT_ADD(live, map) {
	.evaluator = FRAGML_EVAL_MAP,
};
FIXTURE_VARIANT_ADD(live, compiled) {
	.evaluator = FRAGML_EVAL_COMPILED,
};

/* The compiled variant: was the version just published compiled? */
#define REQUIRE_COMPILED(h)								\
	do {										\
		const struct fragml_compiled_info *ci_ = fragml_compiled_last(h);	\
		if (variant->evaluator == FRAGML_EVAL_COMPILED && !ci_->compiled)	\
			SKIP(return, "%s", ci_->note);					\
	} while (0)

/* The compiled variant: every decision of the last batch came from the compiled program. */
#define EXPECT_ALL_COMPILED(h, n)							\
	do {										\
		if (variant->evaluator == FRAGML_EVAL_COMPILED)				\
			ASSERT_EQ((uint32_t)(n), fragml_kernel_compiled_decisions(h));	\
	} while (0)

FIXTURE_SETUP(live)
{
	struct fragml_open_opts oo = { .install = true, .no_policy = true, .no_observe = true,
				       .test_run = true };
	struct fragml_err err = { 0 };

	if (geteuid() != 0)
		SKIP(return, "needs root to load BPF programs");
	if (access(FRAGML_DEFAULT_BTF, R_OK))
		SKIP(return, "kernel has no BTF");
	ASSERT_EQ(0, tl_private_bpffs(self->bpffs, sizeof(self->bpffs)));
	/* from here on a failing ASSERT must still detach and unmount */
	_metadata->setup_completed = true;
	oo.bpffs = self->bpffs;
	self->h = NULL;
	ASSERT_EQ(0, fragml_open(&self->h, &oo, NULL, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, fragml_set_evaluator(self->h, variant->evaluator));
	self->a = malloc(sizeof(*self->a));
	self->b = malloc(sizeof(*self->b));
	self->vecs = calloc(BATCH, sizeof(*self->vecs));
	self->res = calloc(BATCH, sizeof(*self->res));
	ASSERT_TRUE(self->a && self->b && self->vecs && self->res);
}

FIXTURE_TEARDOWN(live)
{
	struct fragml_open_opts oo = { .bpffs = self->bpffs };

	if (!self->bpffs[0])
		return;
	fragml_close(self->h);
	fragml_detach(&oo, NULL);
	tl_release_bpffs(self->bpffs);
	free(self->a);
	free(self->b);
	free(self->vecs);
	free(self->res);
}

static int publish(struct __test_metadata *_metadata, struct fragml_handle *h,
		   struct fragml_model *m, uint32_t *version)
{
	struct fragml_err err = { 0 };
	uint8_t *buf = malloc(70000);
	int len = fragml_model_serialize(m, buf, 70000, &err);

	free(buf);
	EXPECT_LT(0, len) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, fragml_publish(h, m, version, &err)) TH_LOG("%s", err.msg);
	return err.code;
}

/* Split thresholds and feature values at the ends of the s32 range. */
static void make_extreme(struct fragml_model *m, struct fragml_vec *v, unsigned int n)
{
	for (unsigned int i = 0; i < m->n_nodes; i++)
		if (!(m->nodes[i].info & FRAGML_NODE_LEAF) && i % 5 < 2)
			m->nodes[i].value = i % 5 ? INT32_MAX : INT32_MIN;
	for (unsigned int i = 0; i < n; i++)
		for (int f = 0; f < FRAGML_MAX_FEATURES; f++)
			if ((i + f) % 7 == 0)
				v[i].f[f] = (i + f) % 2 ? INT32_MAX : INT32_MIN + 1;
}

/*
 * ≥100 000 vectors per model x 8 models: kernel result == reference result,
 * through every path of the in-kernel evaluator: a single leaf, a single tree
 * and small ensembles (straight-line walks with a branch per level), larger
 * ensembles with an even and an odd number of trees (iterator, branch-free).
 */
TEST_F_TIMEOUT(live, parity, 300)
{
	static const struct { unsigned int hook, trees, depth; int argmax, extreme; } shapes[] = {
		{ FRAGML_HOOK_LIFETIME, 1, 12, 0, 0 },	/* deep tree */
		{ FRAGML_HOOK_LIFETIME, 64, 6, 0, 0 },	/* wide ensemble, at the tree limit */
		{ FRAGML_HOOK_THP_FAULT, 32, 6, 1, 0 },	/* multi-action, one score per action */
		{ FRAGML_HOOK_THP_FAULT, 8, 8, 0, 0 },	/* multi-action, ordinal thresholds */
		{ FRAGML_HOOK_COMPACTION, 4, 3, 0, 0 },
		{ FRAGML_HOOK_LIFETIME, 1, 0, 0, 0 },	/* a single leaf */
		{ FRAGML_HOOK_THP_FAULT, 3, 7, 1, 1 },	/* small ensemble, INT32_MIN/MAX splits */
		{ FRAGML_HOOK_THP_FAULT, 5, 5, 1, 1 },	/* odd ensemble, INT32_MIN/MAX splits */
	};
	uint64_t seed = 42;
	uint64_t total = 0, mismatches = 0;

	for (unsigned int s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct fragml_err err = { 0 };
		uint32_t version = 0;
		unsigned int per_model = 0;

		tl_random_model(self->a, shapes[s].hook, shapes[s].trees, shapes[s].depth,
				shapes[s].argmax, 1000 + s);
		if (shapes[s].extreme)
			make_extreme(self->a, self->vecs, 0);
		ASSERT_EQ(0, publish(_metadata, self->h, self->a, &version));
		REQUIRE_COMPILED(self->h);
		/* The model read back from the kernel (status, explain --live) decides alike. */
		ASSERT_EQ(0, fragml_live_model(self->h, shapes[s].hook, self->b, NULL, &err))
			TH_LOG("%s", err.msg);
		for (unsigned int r = 0; r < 4; r++) {
			tl_random_vecs(self->a, self->vecs, BATCH, &seed);
			if (shapes[s].extreme)
				make_extreme(self->a, self->vecs, BATCH);
			for (unsigned int i = 0; i < BATCH; i++) {
				struct fragml_eval_out ref, back;

				fragml_model_eval(self->a, self->vecs[i].f, &ref);
				fragml_model_eval(self->b, self->vecs[i].f, &back);
				if (ref.action != back.action || ref.score != back.score) {
					if (mismatches++ < 5)
						TH_LOG("model %u vector %u: read back from the kernel: action %u score %lld, file action %u score %lld",
						       s, i, back.action, (long long)back.score, ref.action,
						       (long long)ref.score);
				}
			}
		}
		while (per_model < 100000) {
			tl_random_vecs(self->a, self->vecs, BATCH, &seed);
			if (shapes[s].extreme)
				make_extreme(self->a, self->vecs, BATCH);
			ASSERT_EQ(BATCH, fragml_kernel_eval(self->h, shapes[s].hook, self->vecs, BATCH,
							    self->res, false, &err)) TH_LOG("%s", err.msg);
			EXPECT_ALL_COMPILED(self->h, BATCH);
			for (unsigned int i = 0; i < BATCH; i++) {
				struct fragml_eval_out ref;

				fragml_model_eval(self->a, self->vecs[i].f, &ref);
				if (self->res[i].version != version || self->res[i].action != ref.action ||
				    self->res[i].score != ref.score) {
					if (mismatches++ < 5)
						TH_LOG("model %u vector %u: kernel v%u action %u score %lld, reference action %u score %lld",
						       s, i, self->res[i].version, self->res[i].action,
						       (long long)self->res[i].score, ref.action, (long long)ref.score);
				}
			}
			per_model += BATCH;
		}
		total += per_model;
	}
	TH_LOG("%llu vectors over %zu models, %llu mismatches", (unsigned long long)total,
	       sizeof(shapes) / sizeof(shapes[0]), (unsigned long long)mismatches);
	ASSERT_EQ(0, mismatches);
}

struct swap_arg {
	struct fragml_handle *h;
	struct fragml_model *m[2];
	uint32_t *version_model;	/* version -> 0/1 (which model), 0xff unknown */
	int swaps;
	int err;
	uint64_t ns;		/* wall time of the swaps */
	uint64_t compile_ns;	/* of which generation + verifier + JIT */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *swapper(void *p)
{
	struct swap_arg *a = p;
	struct fragml_err err = { 0 };
	uint64_t t0 = now_ns();

	for (int i = 0; i < a->swaps; i++) {
		uint32_t v = 0;

		if (fragml_publish(a->h, a->m[i & 1], &v, &err) || v >= 4096) {
			a->err = err.code ? err.code : -E2BIG;
			return NULL;
		}
		a->compile_ns += fragml_compiled_last(a->h)->load_ns;
		a->version_model[v] = (uint32_t)(i & 1);
	}
	a->ns = now_ns() - t0;
	return NULL;
}

/*
 * One thread evaluates (counting decisions like a hook) while another swaps two
 * models 1 000 times: every result must be exactly what one whole model gives,
 * and the counters of the versions whose rows were not recycled must equal the
 * results seen with those versions.  Once per evaluator path: `trees` = 1
 * (single tree), 3 (small ensemble), 8 (iterator).
 */
static void hot_swap(struct __test_metadata *_metadata, FIXTURE_DATA(live) *self,
		     const FIXTURE_VARIANT(live) *variant, unsigned int trees, unsigned int depth)
{
	static uint32_t version_model[4096];
	static uint64_t seen[4096][FRAGML_MAX_ACTIONS];
	struct swap_arg arg = { .h = self->h, .version_model = version_model, .swaps = 1000 };
	struct fragml_eval_out ref[2];
	struct fragml_err err = { 0 };
	uint64_t evals = 0, torn = 0, mixed_batches = 0, compiled = 0;
	uint32_t v0 = 0, last = 0;
	pthread_t th;
	uint64_t seed = 7;
	const unsigned int n = 256;

	memset(version_model, 0xff, sizeof(version_model));
	memset(seen, 0, sizeof(seen));
	tl_random_model(self->a, FRAGML_HOOK_THP_FAULT, trees, depth, 1, 11);
	tl_random_model(self->b, FRAGML_HOOK_THP_FAULT, trees, depth, 1, 12);
	arg.m[0] = self->a;
	arg.m[1] = self->b;
	ASSERT_EQ(0, publish(_metadata, self->h, self->a, &v0));
	REQUIRE_COMPILED(self->h);
	version_model[v0] = 0;
	tl_random_vecs(self->a, self->vecs, n, &seed);
	ASSERT_EQ(0, pthread_create(&th, NULL, swapper, &arg));
	for (;;) {
		int done = pthread_tryjoin_np(th, NULL) == 0;
		uint32_t first = 0;
		int mixed = 0;

		ASSERT_EQ((int)n, fragml_kernel_eval(self->h, FRAGML_HOOK_THP_FAULT, self->vecs, n,
						     self->res, true, &err)) TH_LOG("%s", err.msg);
		compiled += fragml_kernel_compiled_decisions(self->h);
		for (unsigned int i = 0; i < n; i++) {
			uint32_t v = self->res[i].version, which;

			if (v >= 4096 || (which = version_model[v]) > 1) {
				/* published but not yet recorded by the swapper: check both */
				which = 2;
			}
			fragml_model_eval(self->a, self->vecs[i].f, &ref[0]);
			fragml_model_eval(self->b, self->vecs[i].f, &ref[1]);
			if (which == 2 ? (self->res[i].action != ref[0].action && self->res[i].action != ref[1].action)
				       : (self->res[i].action != ref[which].action || self->res[i].score != ref[which].score))
				torn++;
			if (v < 4096)
				seen[v][self->res[i].action & 7]++;
			if (i == 0)
				first = v;
			else if (v != first)
				mixed = 1;
			if (v > last)
				last = v;
		}
		mixed_batches += mixed;
		evals += n;
		if (done)
			break;
	}
	ASSERT_EQ(0, arg.err);
	TH_LOG("%u trees: %llu evaluations during 1000 swaps (%llu by compiled programs), %llu batches saw a swap mid-batch; a swap %.2f ms, of which compiling %.2f ms",
	       trees, (unsigned long long)evals, (unsigned long long)compiled,
	       (unsigned long long)mixed_batches, arg.ns / 1e6 / arg.swaps,
	       arg.compile_ns / 1e6 / arg.swaps);
	/* every version was compiled: the map evaluator never had to decide */
	if (variant->evaluator == FRAGML_EVAL_COMPILED)
		ASSERT_EQ(evals, compiled);
	ASSERT_EQ(0, torn);
	/* Counters: versions last-15..last still own their rows. */
	{
		int ncpu = libbpf_num_possible_cpus();
		uint64_t *vals = calloc((size_t)ncpu, sizeof(*vals));
		uint64_t counted = 0, expected = 0;
		char p[128];
		int fd;

		snprintf(p, sizeof(p), "%s/fragml/fragml_counters", self->bpffs);
		fd = bpf_obj_get(p);
		ASSERT_LE(0, fd);
		for (uint32_t v = last > 15 ? last - 15 : 1; v <= last; v++) {
			for (unsigned int a = 0; a < 4; a++) {
				__u32 key = FRAGML_COUNTER_INDEX(FRAGML_HOOK_THP_FAULT, v % FRAGML_COUNTER_ROWS, a);
				uint64_t sum = 0;

				ASSERT_EQ(0, bpf_map_lookup_elem(fd, &key, vals));
				for (int c = 0; c < ncpu; c++)
					sum += vals[c];
				EXPECT_EQ(seen[v][a], sum) TH_LOG("version %u action %u", v, a);
				counted += sum;
				expected += seen[v][a];
			}
		}
		TH_LOG("last 16 versions: %llu decisions counted, %llu results seen",
		       (unsigned long long)counted, (unsigned long long)expected);
		close(fd);
		free(vals);
	}
}

TEST_F_TIMEOUT(live, hot_swap_atomic, 300)
{
	hot_swap(_metadata, self, variant, 1, 8);
	hot_swap(_metadata, self, variant, 3, 6);
	hot_swap(_metadata, self, variant, 8, 6);
}

TEST_F(live, rollback_restores_previous)
{
	struct fragml_hook_status st;
	struct fragml_err err = { 0 };
	struct fragml_eval_out ra, rb;
	uint32_t va = 0, vb = 0, v = 0;
	uint64_t seed = 3;
	unsigned int n = 512, diff = 0;

	tl_random_model(self->a, FRAGML_HOOK_COMPACTION, 4, 5, 0, 21);
	tl_random_model(self->b, FRAGML_HOOK_COMPACTION, 4, 5, 0, 22);
	tl_random_vecs(self->a, self->vecs, n, &seed);
	for (unsigned int i = 0; i < n; i++)
		diff += fragml_model_eval(self->a, self->vecs[i].f, NULL) !=
			fragml_model_eval(self->b, self->vecs[i].f, NULL);
	ASSERT_LT(0, diff) TH_LOG("the two models must disagree somewhere");
	ASSERT_NE(0, fragml_rollback(self->h, FRAGML_HOOK_COMPACTION, &v, &err));
	ASSERT_EQ(0, publish(_metadata, self->h, self->a, &va));
	ASSERT_EQ(0, publish(_metadata, self->h, self->b, &vb));
	ASSERT_EQ(0, fragml_rollback(self->h, FRAGML_HOOK_COMPACTION, &v, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(va, v);
	ASSERT_EQ(0, fragml_status(self->h, FRAGML_HOOK_COMPACTION, &st, &err));
	ASSERT_EQ(va, st.version);
	ASSERT_EQ(self->a->crc32, st.crc32);
	ASSERT_EQ((int)n, fragml_kernel_eval(self->h, FRAGML_HOOK_COMPACTION, self->vecs, n, self->res,
					     false, &err));
	for (unsigned int i = 0; i < n; i++) {
		fragml_model_eval(self->a, self->vecs[i].f, &ra);
		ASSERT_EQ(ra.action, self->res[i].action);
		ASSERT_EQ(va, self->res[i].version);
	}
	/* a second rollback rolls forward again */
	ASSERT_EQ(0, fragml_rollback(self->h, FRAGML_HOOK_COMPACTION, &v, &err));
	ASSERT_EQ(vb, v);
	ASSERT_EQ((int)n, fragml_kernel_eval(self->h, FRAGML_HOOK_COMPACTION, self->vecs, n, self->res,
					     false, &err));
	for (unsigned int i = 0; i < n; i++) {
		fragml_model_eval(self->b, self->vecs[i].f, &rb);
		ASSERT_EQ(rb.action, self->res[i].action);
	}
	/* unpublished: no model decides; a rollback puts it back */
	ASSERT_EQ(0, fragml_unpublish(self->h, FRAGML_HOOK_COMPACTION, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ((int)n, fragml_kernel_eval(self->h, FRAGML_HOOK_COMPACTION, self->vecs, n, self->res,
					     false, &err));
	for (unsigned int i = 0; i < n; i++)
		ASSERT_EQ(0, self->res[i].version);
	ASSERT_EQ(0, fragml_rollback(self->h, FRAGML_HOOK_COMPACTION, &v, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(vb, v);
}

/* Raw writer: lets the test build files the library would refuse to write. */
static size_t raw_model(uint8_t *p, const struct fragml_model *m, uint8_t depth)
{
	size_t len = FRAGML_HDR_SIZE + 4u * m->n_trees + 8u * m->n_nodes;
	uint8_t *q = p + FRAGML_HDR_SIZE;
	uint32_t crc;

	memset(p, 0, FRAGML_HDR_SIZE);
	memcpy(p, "FRGM", 4);
	p[4] = FRAGML_FORMAT_VERSION;
	p[6] = FRAGML_HDR_SIZE;
	p[8] = m->hook;
	p[9] = m->output;
	p[10] = m->n_actions;
	p[11] = depth;
	memcpy(p + 12, &m->schema, 2);
	memcpy(p + 14, &m->n_trees, 2);
	memcpy(p + 16, &m->n_nodes, 2);
	memcpy(p + 24, m->base, 32);
	memcpy(p + 56, m->thresholds, 28);
	for (unsigned int t = 0; t < m->n_trees; t++, q += 4) {
		memcpy(q, &m->trees[t].root, 2);
		q[2] = m->trees[t].cls;
		q[3] = 0;
	}
	memcpy(q, m->nodes, 8u * m->n_nodes);	/* little-endian host */
	crc = (uint32_t)crc32(0, p, (uInt)len);
	memcpy(p + 20, &crc, 4);
	return len;
}

static void fix_crc(uint8_t *p, size_t len)
{
	uint32_t crc;

	memset(p + 20, 0, 4);
	crc = (uint32_t)crc32(0, p, (uInt)len);
	memcpy(p + 20, &crc, 4);
}

TEST_F(live, malformed_refused_running_model_intact)
{
	struct fragml_model *m = self->b;
	struct fragml_hook_status before, after;
	struct fragml_err err = { 0 };
	static uint8_t buf[80000];
	char path[128], cmd[1024], line[1024];
	uint32_t v = 0;
	uint64_t seed = 5;
	size_t len;
	unsigned int n = 256;

	/* the running model */
	tl_random_model(self->a, FRAGML_HOOK_LIFETIME, 2, 3, 0, 31);
	ASSERT_EQ(0, publish(_metadata, self->h, self->a, &v));
	ASSERT_EQ(0, fragml_status(self->h, FRAGML_HOOK_LIFETIME, &before, &err));
	tl_random_vecs(self->a, self->vecs, n, &seed);
	snprintf(path, sizeof(path), "%s/bad.bin", self->bpffs[0] ? "/tmp" : "/tmp");

	for (int c = 0; c < 12; c++) {
		const char *expect;
		FILE *f;

		tl_random_model(m, FRAGML_HOOK_LIFETIME, 2, 3, 0, 32);
		len = raw_model(buf, m, 3);
		switch (c) {
		case 0: len = 50; expect = "truncated"; break;
		case 1: len -= 3; expect = "truncated"; break;
		case 2: memcpy(buf, "ELF\x7f", 4); expect = "bad magic"; break;
		case 3: buf[100] ^= 1; expect = "bad checksum"; break;
		case 4: /* node 0's left child beyond the end */
			buf[FRAGML_HDR_SIZE + 8 + 2] = 0xff; buf[FRAGML_HDR_SIZE + 8 + 3] = 0x1f;
			fix_crc(buf, len); expect = "out of range"; break;
		case 5: /* node 1 (a split) points back at the root: a cycle */
			memset(buf + FRAGML_HDR_SIZE + 8 + 8 + 2, 0, 2);
			fix_crc(buf, len); expect = "cycle"; break;
		case 6: { /* a 13-deep chain */
			struct fragml_model *d = m;

			memset(d->nodes, 0, sizeof(d->nodes));
			d->n_trees = 1;
			d->trees[0].root = 0;
			for (unsigned int i = 0; i < 13; i++) {
				d->nodes[2 * i].info = FRAGML_F_ORDER;
				d->nodes[2 * i].value = (int32_t)i;
				d->nodes[2 * i].left = (uint16_t)(2 * i + 1);
				d->nodes[2 * i + 1].info = FRAGML_NODE_LEAF;	/* left: leaf */
			}
			/* right child of split i is 2i+2, the next split; last split's right: leaf */
			d->nodes[26].info = FRAGML_NODE_LEAF;
			d->n_nodes = 27;
			len = raw_model(buf, d, 12);
			expect = "depth exceeds the limit 12";
			break;
		}
		case 7: /* unknown feature id 60 on node 0 */
			buf[FRAGML_HDR_SIZE + 8] = 60; buf[FRAGML_HDR_SIZE + 9] = 0;
			fix_crc(buf, len); expect = "unknown feature id 60"; break;
		case 8: buf[16] = 0x01; buf[17] = 0x20; /* 8193 nodes */
			fix_crc(buf, len); expect = "exceed the limit 8192"; break;
		case 9: buf[14] = 0; buf[15] = 0; len = FRAGML_HDR_SIZE + 8u * m->n_nodes;
			fix_crc(buf, len); expect = "zero trees"; break;
		case 10: buf[8] = 9; fix_crc(buf, len); expect = "hook kind 9 unknown"; break;
		case 11: /* feature computed only at another hook */
			buf[FRAGML_HDR_SIZE + 8] = FRAGML_F_VMA_PAGES_LOG2;
			fix_crc(buf, len); expect = "not computed at hook lifetime"; break;
		}
		f = fopen(path, "wb");
		ASSERT_NE(NULL, f);
		ASSERT_EQ(len, fwrite(buf, 1, len, f));
		fclose(f);
		snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml-load %s", self->bpffs, bindir, path);
		EXPECT_EQ(1, run(cmd, line, sizeof(line))) TH_LOG("case %d: %s", c, cmd);
		EXPECT_NE(NULL, strstr(line, expect)) TH_LOG("case %d: got '%s', want '%s'", c, line, expect);
		EXPECT_EQ(0, strncmp(line, "fragml-load: ", 13)) TH_LOG("case %d: '%s'", c, line);
		EXPECT_EQ(1, count_lines(line));
	}
	unlink(path);
	/* schema mismatch: valid file, but programs implement another schema */
	tl_random_model(m, FRAGML_HOOK_LIFETIME, 1, 2, 0, 33);
	m->schema = FRAGML_SCHEMA_VERSION + 1;
	EXPECT_EQ(-EPROTO, fragml_publish(self->h, m, &v, &err));
	EXPECT_NE(NULL, strstr(err.msg, "feature schema 2, running programs implement schema 1")) TH_LOG("%s", err.msg);

	ASSERT_EQ(0, fragml_status(self->h, FRAGML_HOOK_LIFETIME, &after, &err));
	ASSERT_EQ(before.version, after.version);
	ASSERT_EQ(before.crc32, after.crc32);
	ASSERT_EQ((int)n, fragml_kernel_eval(self->h, FRAGML_HOOK_LIFETIME, self->vecs, n, self->res,
					     false, &err));
	for (unsigned int i = 0; i < n; i++) {
		ASSERT_EQ(before.version, self->res[i].version);
		ASSERT_EQ(fragml_model_eval(self->a, self->vecs[i].f, NULL), self->res[i].action);
	}
}

/* Run a shell command, stdout and stderr into out; returns the exit status. */
static int run_out(const char *cmd, char *out, size_t len)
{
	char full[2048];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	p = popen(full, "r");
	if (!p)
		return -1;
	out[0] = '\0';
	while (n + 1 < len && fgets(out + n, (int)(len - n), p))
		n += strlen(out + n);
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/*
 * The guard (docs/guard.md) where the kernel refuses LSM programs, as the
 * stock kernel of these machines does: fragml-load says it is unavailable
 * and why, loads the model all the same, and status says so too.  (Where
 * LSM programs load, the VM selftests cover the guard.)
 */
TEST_F(live, guard_unavailable_still_loads)
{
	struct fragml_hook_status st;
	struct fragml_err err = { 0 };
	char cmd[1024], out[8192], path[] = "/tmp/fragml-guard-XXXXXX";
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	tl_random_model(self->a, FRAGML_HOOK_LIFETIME, 2, 3, 0, 5);
	ASSERT_EQ(0, fragml_model_write_file(self->a, path, &err)) TH_LOG("%s", err.msg);
	snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml-load --no-policy %s", self->bpffs, bindir, path);
	ASSERT_EQ(0, run_out(cmd, out, sizeof(out))) TH_LOG("%s", out);
	unlink(path);
	if (strstr(out, "guard: active")) {
		snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml guard off", self->bpffs, bindir);
		EXPECT_EQ(0, run_out(cmd, out, sizeof(out))) TH_LOG("%s", out);
		SKIP(return, "this kernel allows LSM programs: the guard is active (VM tests cover it)");
	}
	EXPECT_NE(NULL, strstr(out, "fragml-load: guard: unavailable (the kernel refuses BPF-LSM programs ("))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "published lifetime model v")) TH_LOG("%s", out);
	ASSERT_EQ(0, fragml_status(self->h, FRAGML_HOOK_LIFETIME, &st, &err)) TH_LOG("%s", err.msg);
	EXPECT_TRUE(st.loaded);
	EXPECT_EQ(self->a->crc32, st.crc32);

	snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml status", self->bpffs, bindir);
	ASSERT_EQ(0, run_out(cmd, out, sizeof(out))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\nguard: unavailable (the kernel refuses BPF-LSM programs")) TH_LOG("%s", out);
	snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml status --json", self->bpffs, bindir);
	ASSERT_EQ(0, run_out(cmd, out, sizeof(out))) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"state\":\"unavailable\"")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"reason\":\"the kernel refuses BPF-LSM programs")) TH_LOG("%s", out);
	/* nothing of the guard stays pinned; `fragml guard off` has nothing to do */
	snprintf(path, sizeof(path), "%s", self->bpffs);
	snprintf(cmd, sizeof(cmd), "test ! -e %s/fragml/guard && FRAGML_BPFFS=%s %s/fragml guard off",
		 self->bpffs, self->bpffs, bindir);
	EXPECT_EQ(0, run_out(cmd, out, sizeof(out))) TH_LOG("%s", out);
}

static void write_good_model(const char *path)
{
	struct fragml_model *m = malloc(sizeof(*m));

	tl_random_model(m, FRAGML_HOOK_LIFETIME, 1, 2, 0, 1);
	fragml_model_write_file(m, path, NULL);
	free(m);
}

static const struct fragml_kmem_obj *kmem_find(const struct fragml_kmem *km, const char *name)
{
	for (unsigned int i = 0; i < km->n; i++)
		if (!km->obj[i].is_prog && !strcmp(km->obj[i].name, name))
			return &km->obj[i];
	return NULL;
}

/*
 * Kernel memory as the kernel accounts it: observe programs without
 * identification create no source maps and a bounded, on-demand live-page
 * hash; --identify adds the source maps and replaces the programs; every
 * model version is counted with at least its value size; status agrees.
 */
/* Close the handle, detach everything from the private bpffs and release it. */
static void close_private(struct fragml_handle *h, char *bpffs)
{
	fragml_close(h);
	if (bpffs[0]) {
		struct fragml_open_opts d = { .bpffs = bpffs };

		fragml_detach(&d, NULL);
		tl_release_bpffs(bpffs);
	}
}

/* Root and BTF, then a private bpffs and a handle with the observe programs
 * attached there; false: skip (no root or BTF). */
static bool open_observe(struct __test_metadata *_metadata, char *bpffs, size_t n,
			 struct fragml_handle **h)
{
	struct fragml_open_opts oo = { .install = true, .no_policy = true };
	struct fragml_err err = { 0 };

	if (geteuid() != 0 || access(FRAGML_DEFAULT_BTF, R_OK))
		return false;
	ASSERT_EQ(0, tl_private_bpffs(bpffs, n));
	oo.bpffs = bpffs;
	EXPECT_EQ(0, fragml_open(h, &oo, NULL, &err)) TH_LOG("%s", err.msg);
	return true;
}

/* The per-CPU fragml_scratch of the observe program behind links/<link>, or -1. */
static int observe_scratch(const char *bpffs, const char *link)
{
	struct bpf_link_info li = { 0 };
	struct bpf_prog_info pi = { 0 };
	__u32 len, ids[64];
	int lfd, pfd, fd, sfd = -1;
	char p[160];

	snprintf(p, sizeof(p), "%s/fragml/links/%s", bpffs, link);
	lfd = bpf_obj_get(p);
	if (lfd < 0)
		return -1;
	len = sizeof(li);
	pfd = bpf_link_get_info_by_fd(lfd, &li, &len) ? -1 : bpf_prog_get_fd_by_id(li.prog_id);
	close(lfd);
	if (pfd < 0)
		return -1;
	len = sizeof(pi);
	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_prog_get_info_by_fd(pfd, &pi, &len))
		pi.nr_map_ids = 0;
	close(pfd);
	for (__u32 i = 0; i < pi.nr_map_ids && i < 64 && sfd < 0; i++) {
		struct bpf_map_info mi = { 0 };

		fd = bpf_map_get_fd_by_id(ids[i]);
		len = sizeof(mi);
		if (fd >= 0 && !bpf_map_get_info_by_fd(fd, &mi, &len) && !strcmp(mi.name, "fragml_scratch"))
			sfd = fd;
		else if (fd >= 0)
			close(fd);
	}
	return sfd;
}

/* Decisions counted for `hook` at `version`, all CPUs. */
static uint64_t decisions_counted(const char *bpffs, unsigned int hook, uint32_t version)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t *cnt = calloc(ncpu > 0 ? (size_t)ncpu : 1, sizeof(*cnt)), counted = 0;
	char p[160];

	snprintf(p, sizeof(p), "%s/fragml/fragml_counters", bpffs);
	fd = bpf_obj_get(p);
	for (unsigned int a = 0; cnt && fd >= 0 && a < FRAGML_MAX_ACTIONS; a++) {
		__u32 key = FRAGML_COUNTER_INDEX(hook, version % FRAGML_COUNTER_ROWS, a);

		if (!bpf_map_lookup_elem(fd, &key, cnt))
			for (int c = 0; c < ncpu; c++)
				counted += cnt[c];
	}
	if (fd >= 0)
		close(fd);
	free(cnt);
	return counted;
}

/* No compiled result was seen: then the hook must not have decided for the
 * version either (it did, and never through the compiled program: a failure). */
static void no_decision_counted(struct __test_metadata *_metadata, const char *bpffs,
				unsigned int hook, uint32_t version)
{
	uint64_t counted = decisions_counted(bpffs, hook, version);

	ASSERT_EQ(0, counted) TH_LOG("the hook decided %llu times, never through the compiled program",
				     (unsigned long long)counted);
}

/* Slot `hook` of the pinned program array `array` holds a program. */
static bool cprog_slot_filled(const char *bpffs, const char *array, unsigned int hook)
{
	__u32 slot = hook, id = 0;
	char p[160];
	int fd;

	snprintf(p, sizeof(p), "%s/fragml/%s", bpffs, array);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return false;
	if (bpf_map_lookup_elem(fd, &slot, &id))
		id = 0;
	close(fd);
	return id != 0;
}

/*
 * The per-CPU scratch `sfd` after a hook ran: on each CPU where it holds a
 * result of `version` (a compiled program's: the map evaluator marks its own
 * decisions as none) on a vector of the hook (`mark`, a feature only that
 * hook computes, is not missing), read the same twice (no decision in
 * between), the result must be the reference's on that vector.  Returns the
 * CPUs compared.
 */
static int compiled_results_match(struct __test_metadata *_metadata, int sfd,
				  const struct fragml_model *m, uint32_t version, int mark)
{
	int ncpu = libbpf_num_possible_cpus(), hits = 0;
	struct fragml_cio *a = calloc((size_t)ncpu, sizeof(*a)), *b = calloc((size_t)ncpu, sizeof(*b));
	__u32 zero = 0;

	if (!a || !b || bpf_map_lookup_elem(sfd, &zero, a) || bpf_map_lookup_elem(sfd, &zero, b)) {
		free(a);
		free(b);
		return -1;
	}
	for (int c = 0; c < ncpu; c++) {
		struct fragml_eval_out ref;

		if (a[c].r.version != version || memcmp(&a[c], &b[c], sizeof(a[c])) ||
		    (mark >= 0 && a[c].v.f[mark] == FRAGML_MISSING))
			continue;
		hits++;
		fragml_model_eval(m, a[c].v.f, &ref);
		EXPECT_EQ(ref.action, a[c].r.action);
		EXPECT_EQ(ref.score, a[c].r.score);
	}
	free(a);
	free(b);
	return hits;
}

/*
 * The observe compaction hook (tp_btf/mm_compaction_begin) decides through
 * the compiled version: after a compaction the hook's per-CPU scratch holds
 * the compiled program's result, which must be the reference's.  The other
 * observe programs reuse the scratch vector (an allocation during compaction
 * overwrites it), so the model's trees are single leaves: its result does not
 * depend on the vector (the parity test covers the splits).  Compaction is
 * asked for with /proc/sys/vm/compact_memory.
 */
TEST(observe_hook_compiled)
{
	struct fragml_open_opts oo = { .install = true, .no_policy = true };
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	int sfd = -1, hits, fd;
	uint32_t version = 0;
	char bpffs[64] = "";

	ASSERT_NE(NULL, m);
	if (!open_observe(_metadata, bpffs, sizeof(bpffs), &h))
		SKIP(goto out, "needs root and kernel BTF");
	ASSERT_NE(NULL, h);
	tl_random_model(m, FRAGML_HOOK_COMPACTION, 8, 0, 0, 3);
	ASSERT_EQ(0, fragml_publish(h, m, &version, &err)) TH_LOG("%s", err.msg);
	if (!fragml_compiled_last(h)->compiled)
		SKIP(goto out, "%s", fragml_compiled_last(h)->note);
	/* the compiled program is in the observe program's slot */
	EXPECT_TRUE(cprog_slot_filled(bpffs, "fragml_cprog_cb", FRAGML_HOOK_COMPACTION));
	/* the hook's scratch, through its link */
	sfd = observe_scratch(bpffs, "fragml_observe_compact_begin");
	ASSERT_LE(0, sfd);
	fd = open("/proc/sys/vm/compact_memory", O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		SKIP(goto out, "cannot ask for compaction (/proc/sys/vm/compact_memory)");
	close(fd);
	hits = compiled_results_match(_metadata, sfd, m, version, -1);
	ASSERT_LE(0, hits);
	if (!hits) {
		no_decision_counted(_metadata, bpffs, FRAGML_HOOK_COMPACTION, version);
		SKIP(goto out, "no compaction ran (mm_compaction_begin did not fire)");
	}
	TH_LOG("compiled v%u decided the observe compaction hook on %d CPU(s), as the reference", version, hits);
out:
	if (sfd >= 0)
		close(sfd);
	fragml_close(h);
	if (bpffs[0]) {
		oo.bpffs = bpffs;
		fragml_detach(&oo, NULL);
		tl_release_bpffs(bpffs);
	}
	free(m);
}

/*
 * The observe allocation hook (tp_btf/mm_page_alloc) decides the lifetime
 * hook through the compiled version too.  Pipe buffers are unmovable page
 * allocations, sampled 1 in 16 and decided; after them a CPU's scratch holds
 * the last sampled vector and the compiled program's result, which must be
 * the reference's (8 trees of depth 4 over the lifetime features).  A vector
 * built later by another hook with no model of its own (a THP fault, a
 * compaction) does not touch the result; it has no alloc_class.
 */
TEST(observe_alloc_compiled)
{
	struct fragml_open_opts oo = { .install = true, .no_policy = true };
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	int sfd = -1, hits = 0;
	uint32_t version = 0;
	char bpffs[64] = "", buf[4096];

	ASSERT_NE(NULL, m);
	if (!open_observe(_metadata, bpffs, sizeof(bpffs), &h))
		SKIP(goto out, "needs root and kernel BTF");
	ASSERT_NE(NULL, h);
	tl_random_model(m, FRAGML_HOOK_LIFETIME, 8, 4, 0, 5);
	ASSERT_EQ(0, fragml_publish(h, m, &version, &err)) TH_LOG("%s", err.msg);
	if (!fragml_compiled_last(h)->compiled)
		SKIP(goto out, "%s", fragml_compiled_last(h)->note);
	EXPECT_TRUE(cprog_slot_filled(bpffs, "fragml_cprog_al", FRAGML_HOOK_LIFETIME))
		TH_LOG("no compiled program in the allocation program's lifetime slot");
	EXPECT_TRUE(cprog_slot_filled(bpffs, "fragml_cprog_ef", FRAGML_HOOK_LIFETIME))
		TH_LOG("no compiled program in the fallback program's lifetime slot");
	sfd = observe_scratch(bpffs, "fragml_observe_alloc");
	ASSERT_LE(0, sfd);
	memset(buf, 1, sizeof(buf));
	/*
	 * Rounds of 64 pipes filled with 16 pages each, then closed: 1 024 new
	 * unmovable pages a round (a pipe that is written and read reuses its
	 * page); each round leaves the last sampled decision of the CPUs it ran on.
	 */
	for (int round = 0; round < 20 && hits < 1; round++) {
		int fds[64][2];

		for (int i = 0; i < 64; i++) {
			ASSERT_EQ(0, pipe(fds[i]));
			for (int k = 0; k < 16; k++)
				ASSERT_EQ((ssize_t)sizeof(buf), write(fds[i][1], buf, sizeof(buf)));
		}
		hits = compiled_results_match(_metadata, sfd, m, version, FRAGML_F_ALLOC_CLASS);
		for (int i = 0; i < 64; i++) {
			close(fds[i][0]);
			close(fds[i][1]);
		}
		ASSERT_LE(0, hits);
	}
	if (!hits) {
		no_decision_counted(_metadata, bpffs, FRAGML_HOOK_LIFETIME, version);
		SKIP(goto out, "no sampled unmovable allocation was decided");
	}
	TH_LOG("compiled v%u decided the observe allocation hook on %d CPU(s), as the reference", version, hits);
out:
	if (sfd >= 0)
		close(sfd);
	fragml_close(h);
	if (bpffs[0]) {
		oo.bpffs = bpffs;
		fragml_detach(&oo, NULL);
		tl_release_bpffs(bpffs);
	}
	free(m);
}

/*
 * The core's test-run programs (the kernel-evaluation harnesses) are
 * verified only for a handle that asked for them: an ordinary open (what
 * fragml-load, fragml status and report do) publishes and decides without
 * them, and kernel evaluation on it is refused with a reason.
 */
TEST(test_run_programs_on_request)
{
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_vec v = { 0 };
	struct fragml_result r;
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	uint32_t version = 0;
	char bpffs[64] = "";

	ASSERT_NE(NULL, m);
	if (!open_observe(_metadata, bpffs, sizeof(bpffs), &h))
		SKIP(goto out, "needs root and kernel BTF");
	ASSERT_NE(NULL, h);
	tl_random_model(m, FRAGML_HOOK_THP_FAULT, 2, 3, 0, 3);
	ASSERT_EQ(0, fragml_publish(h, m, &version, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(-ENOTSUP, fragml_kernel_eval(h, FRAGML_HOOK_THP_FAULT, &v, 1, &r, false, &err));
	EXPECT_NE(NULL, strstr(err.msg, "test_run")) TH_LOG("%s", err.msg);
out:
	close_private(h, bpffs);
	free(m);
}

TEST(kernel_memory)
{
	struct fragml_open_opts oo = { .install = true, .no_policy = true };
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	struct fragml_hook_status st;
	struct fragml_model *m = malloc(sizeof(*m));
	const struct fragml_kmem_obj *o;
	struct fragml_kmem km = { 0 };
	uint64_t before;
	uint32_t version;
	char bpffs[64] = "";

	ASSERT_NE(NULL, m);
	if (!open_observe(_metadata, bpffs, sizeof(bpffs), &h))
		SKIP(goto out, "needs root and kernel BTF");
	ASSERT_NE(NULL, h);
	tl_random_model(m, FRAGML_HOOK_LIFETIME, 4, 4, 0, 77);
	ASSERT_EQ(0, fragml_publish(h, m, &version, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, fragml_kmem_read(h, &km, &err)) TH_LOG("%s", err.msg);
	EXPECT_LT(0, km.n_progs);
	EXPECT_EQ(NULL, kmem_find(&km, "fragml_src"));
	EXPECT_EQ(NULL, kmem_find(&km, "fragml_blocks"));
	o = kmem_find(&km, "fragml_live");
	ASSERT_NE(NULL, o);
	EXPECT_TRUE(o->flags & BPF_F_NO_PREALLOC);
	/* buckets only on an idle map: far below a preallocated 32-byte value per entry */
	EXPECT_LT(o->bytes, (uint64_t)o->max_entries * 32);
	o = NULL;
	for (unsigned int i = 0; i < km.n; i++)
		if (!strncmp(km.obj[i].name, "frgm_lif_v", 10))
			o = &km.obj[i];
	ASSERT_NE(NULL, o);
	EXPECT_LE((uint64_t)sizeof(struct fragml_blob), o->bytes);
	ASSERT_EQ(0, fragml_status(h, FRAGML_HOOK_LIFETIME, &st, &err));
	EXPECT_EQ(o->bytes, st.map_bytes);
	before = km.map_bytes + km.prog_bytes;
	TH_LOG("observe: %llu bytes in %u maps, %u programs", (unsigned long long)before, km.n_maps,
	       km.n_progs);
	fragml_kmem_free(&km);
	fragml_close(h);
	h = NULL;

	oo.bpffs = bpffs;
	oo.identify = true;
	ASSERT_EQ(0, fragml_open(&h, &oo, NULL, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, fragml_kmem_read(h, &km, &err)) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, kmem_find(&km, "fragml_src"));
	EXPECT_NE(NULL, kmem_find(&km, "fragml_src_slab"));
	EXPECT_LT(before, km.map_bytes + km.prog_bytes);
	TH_LOG("observe + identification: %llu bytes in %u maps, %u programs",
	       (unsigned long long)(km.map_bytes + km.prog_bytes), km.n_maps, km.n_progs);
out:
	fragml_kmem_free(&km);
	close_private(h, bpffs);
	free(m);
}

/* `rounds` times: 64 pipes holding a page each, closed 20 ms later */
static void pipe_churn(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		int pp[64][2], made = 0;
		char page[4096] = { 1 };

		for (; made < 64; made++) {
			if (pipe(pp[made]))
				break;
			if (write(pp[made][1], page, sizeof(page)) < 0) {
				made++;
				break;
			}
		}
		usleep(20000);
		for (int j = 0; j < made; j++) {
			close(pp[j][0]);
			close(pp[j][1]);
		}
	}
}

/*
 * fragml-load --site-table: a good table lands in the observe programs' pinned
 * fragml_site_life (seeded entries flagged), a malformed one is refused with
 * one line before anything is written, and the observe programs keep adding
 * their own sites online; before it (no model reading sites), they compute none.
 */
TEST(site_table_published)
{
	struct fragml_handle *h = NULL;
	char bpffs[64] = "", bindir[512], good[96], bad[96], p[160], cmd[1024], line[512];
	struct fragml_site_life v;
	__u64 k, nk, *kp = NULL, site = 0x00000000000000aaull;
	uint32_t n = 0, trained = 0, paths = 0, maxe = 0, sites_with_path = 0;
	int fd, st, lines = 0;
	FILE *f;

	if (!open_observe(_metadata, bpffs, sizeof(bpffs), &h))
		SKIP(return, "needs root and kernel BTF");
	ASSERT_NE(NULL, h);
	tl_bindir(bindir, sizeof(bindir));
	snprintf(bad, sizeof(bad), "/tmp/fragml-test-bad-%d.sites", getpid());
	snprintf(good, sizeof(good), "/tmp/fragml-test-good-%d.sites", getpid());
	f = fopen(good, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "%s\nsite,allocs,long,short\n00000000000000aa,40,30,10\n00000000000000bb,9,0,9\n",
		FRAGML_SITE_TABLE_MAGIC);
	fclose(f);
	f = fopen(bad, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "%s\nsite,allocs,long,short\n00000000000000aa,1,1,1\n", FRAGML_SITE_TABLE_MAGIC);
	fclose(f);

	/* no model reads sites and no table: the observe programs walk no stack */
	pipe_churn(5);
	ASSERT_EQ(0, fragml_site_table_stat(h, &n, &trained, &paths, &maxe));
	EXPECT_EQ(0u, n) TH_LOG("%u sites computed while nothing reads them", n);

	snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml-load -q --no-policy --no-guard --site-table %s",
		 bpffs, bindir, good);
	ASSERT_EQ(0, system(cmd));
	snprintf(p, sizeof(p), "%s/fragml_site_life", fragml_pin_dir(h));
	fd = bpf_obj_get(p);
	ASSERT_LE(0, fd) TH_LOG("%s", p);
	ASSERT_EQ(0, bpf_map_lookup_elem(fd, &site, &v));
	EXPECT_EQ(40u, v.allocs);
	EXPECT_EQ(30u, v.long_cnt);
	EXPECT_EQ(10u, v.short_cnt);
	EXPECT_EQ((uint32_t)FRAGML_SITE_F_TRAINED, v.flags);

	/* refused whole, one line on stderr, the entry untouched */
	snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml-load --no-policy --no-guard --site-table %s 2>&1",
		 bpffs, bindir, bad);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		lines++;
		EXPECT_NE(NULL, strstr(line, "exceeds allocs")) TH_LOG("%s", line);
	}
	st = pclose(f);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	EXPECT_EQ(1, lines);
	ASSERT_EQ(0, bpf_map_lookup_elem(fd, &site, &v));
	EXPECT_EQ(40u, v.allocs);
	EXPECT_EQ(30u, v.long_cnt);

	/* online: the observe programs add sites of their own while pages come and go */
	pipe_churn(20);
	ASSERT_EQ(0, fragml_site_table_stat(h, &n, &trained, &paths, &maxe));
	TH_LOG("site lifetime table: %u sites, %u seeded, %u paths, room for %u", n, trained, paths, maxe);
	EXPECT_EQ(2u, trained);
	EXPECT_LT(2u, n);
	EXPECT_EQ((uint32_t)FRAGML_SITE_TABLE_MAX, maxe);
	/* every site the programs added names its kernel path, which has an
	 * entry of its own counting at least that site's pages */
	EXPECT_LT(0u, paths);
	EXPECT_GE(n - trained, paths) TH_LOG("%u paths for %u sites of their own", paths, n - trained);
	for (; !bpf_map_get_next_key(fd, kp, &nk); kp = &k) {
		struct fragml_site_life pv;

		k = nk;
		if (bpf_map_lookup_elem(fd, &k, &v) || (v.flags & FRAGML_SITE_F_TRAINED))
			continue;
		EXPECT_LE(v.long_cnt + v.short_cnt, v.allocs);
		if (v.flags & FRAGML_SITE_F_PATH) {
			EXPECT_EQ(0u, v.path);
			continue;
		}
		ASSERT_NE(0u, v.path) TH_LOG("site %016llx has no path", (unsigned long long)k);
		ASSERT_EQ(0, bpf_map_lookup_elem(fd, &v.path, &pv))
			TH_LOG("site %016llx: its path %016llx has no entry", (unsigned long long)k,
			       (unsigned long long)v.path);
		EXPECT_EQ((uint32_t)FRAGML_SITE_F_PATH, pv.flags);
		EXPECT_GE(pv.allocs, v.allocs);
		sites_with_path++;
	}
	EXPECT_EQ(n - trained, sites_with_path);
	close(fd);
	unlink(good);
	unlink(bad);
	close_private(h, bpffs);
}

/*
 * fragml report names the cgroup of an application source: a child moved into
 * a fresh cgroup v2 directory (by the parent, before it allocates) churns pipe
 * pages; its rows in the identification view carry that directory's path, in
 * the table and in the JSON.
 */
TEST(report_names_cgroup)
{
	struct fragml_open_opts oo = { .install = true, .no_policy = true, .identify = true };
	const char *root = !access("/sys/fs/cgroup/cgroup.controllers", R_OK) ? "/sys/fs/cgroup" :
			   !access("/sys/fs/cgroup/unified/cgroup.procs", R_OK) ? "/sys/fs/cgroup/unified" : NULL;
	char bpffs[64] = "", cg[160], want[64], key[96], *buf = NULL;
	struct clone_args ca = { 0 };
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	struct fragml_ident id = { 0 };
	unsigned int rows = 0, named = 0;
	int st, cgfd = -1;
	size_t len = 0;
	pid_t child;
	FILE *f;

	if (geteuid() != 0 || access(FRAGML_DEFAULT_BTF, R_OK))
		SKIP(return, "needs root and kernel BTF");
	if (!root)
		SKIP(return, "no cgroup v2 hierarchy mounted (/sys/fs/cgroup or /sys/fs/cgroup/unified)");
	snprintf(want, sizeof(want), "/fragml-test-report-%d", getpid());
	snprintf(cg, sizeof(cg), "%s%s", root, want);
	ASSERT_EQ(0, mkdir(cg, 0755)) TH_LOG("%s: %s", cg, strerror(errno));
	ASSERT_EQ(0, tl_private_bpffs(bpffs, sizeof(bpffs)));
	oo.bpffs = bpffs;
	ASSERT_EQ(0, fragml_open(&h, &oo, NULL, &err)) TH_LOG("%s", err.msg);
	/* born in the cgroup (clone3 CLONE_INTO_CGROUP, like fork otherwise):
	 * no allocation of the child's is made anywhere else */
	cgfd = open(cg, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, cgfd);
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = cgfd;
	child = syscall(SYS_clone3, &ca, sizeof(ca));
	if (child < 0 && (errno == ENOSYS || errno == E2BIG || errno == EINVAL))
		SKIP(goto out, "clone3(CLONE_INTO_CGROUP) unsupported: %s", strerror(errno));
	ASSERT_LE(0, child) TH_LOG("clone3: %s", strerror(errno));
	if (!child) {
		pipe_churn(40);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	ASSERT_EQ(0, fragml_ident_read(&id, fragml_pin_dir(h), NULL, &err)) TH_LOG("%s", err.msg);
	for (unsigned int i = 0; i < id.n; i++) {
		/* slab:<cache> rows count objects per cache, not per cgroup */
		if (id.src[i].tgid != (uint32_t)child || fragml_source_is_slab_cache(&id.src[i]))
			continue;
		rows++;
		named += !strcmp(id.src[i].cgroup_path, want);
		EXPECT_STREQ(want, id.src[i].cgroup_path) TH_LOG("%s", id.src[i].name);
	}
	TH_LOG("%u rows of the child, %u naming %s", rows, named, want);
	EXPECT_LT(0u, rows);
	f = open_memstream(&buf, &len);
	ASSERT_NE(NULL, f);
	fragml_ident_table(&id, f, 0);
	fragml_ident_json(&id, f, 0);
	fclose(f);
	EXPECT_NE(NULL, strstr(buf, "  CGROUP"));
	EXPECT_TRUE(strstr(buf, want) != NULL) TH_LOG("table without %s", want);
	snprintf(key, sizeof(key), "\"cgroup_path\":\"%s\"", want);
	EXPECT_TRUE(strstr(buf, key) != NULL) TH_LOG("JSON without %s", key);
	free(buf);
out:
	if (cgfd >= 0)
		close(cgfd);
	fragml_ident_free(&id);
	close_private(h, bpffs);
	rmdir(cg);
}

/*
 * fragml report gives the lifetime model's precision per source.  With a model
 * that answers "long-lived" for every allocation, a child's pipe pages freed
 * at once are wrong predictions (counted by the kernel at the free) and the
 * pages it holds past T (2 s) are right ones (counted by the reader in the
 * pinned live-page map): its row's precision lies strictly between 0 and 1,
 * and nothing predicted short lived long (recall 1).
 */
TEST(report_precision_per_source)
{
	char bpffs[64] = "", model[96], cmd[1024], *buf = NULL;
	struct fragml_handle *h = NULL;
	struct fragml_err err = { 0 };
	struct fragml_ident id = { 0 };
	uint64_t fate[4] = { 0 };
	int ready[2], go[2], st;
	size_t len = 0;
	pid_t child;
	char c;
	FILE *f;

	if (!open_observe(_metadata, bpffs, sizeof(bpffs), &h))
		SKIP(return, "needs root and kernel BTF");
	ASSERT_NE(NULL, h);
	snprintf(model, sizeof(model), "/tmp/fragml-test-long-%d.bin", getpid());
	snprintf(cmd, sizeof(cmd), "%s/fragml-mkmodel --hook lifetime --const long -o %s >/dev/null && "
		 "FRAGML_BPFFS=%s %s/fragml-load -q --no-policy --no-guard --identify %s",
		 bindir, model, bpffs, bindir, model);
	ASSERT_EQ(0, system(cmd));
	unlink(model);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		struct rlimit rl = { 8192, 8192 };
		char page[4096] = { 1 };
		int held = 0;

		setrlimit(RLIMIT_NOFILE, &rl);
		pipe_churn(200);	/* short-lived: freed within 20 ms */
		for (; held < 3000; held++) {
			int pp[2];

			if (pipe(pp) || write(pp[1], page, sizeof(page)) < 0)
				break;
		}
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(held < 1000);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	sleep(FRAGML_OBSERVE_LIFETIME_T_NS / 1000000000ULL + 1);
	ASSERT_EQ(0, fragml_ident_read(&id, fragml_pin_dir(h), NULL, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (unsigned int i = 0; i < id.n; i++) {
		if (id.src[i].tgid != (uint32_t)child || fragml_source_is_slab_cache(&id.src[i]))
			continue;
		for (int j = 0; j < 4; j++)
			fate[j] += id.src[i].fate[j];
	}
	TH_LOG("child's followed pages: long/long %llu, long/short %llu, short/long %llu, short/short %llu",
	       (unsigned long long)fate[FRAGML_FATE(1, 1)], (unsigned long long)fate[FRAGML_FATE(1, 0)],
	       (unsigned long long)fate[FRAGML_FATE(0, 1)], (unsigned long long)fate[FRAGML_FATE(0, 0)]);
	EXPECT_LT(0u, fate[FRAGML_FATE(1, 1)]);	/* held past T */
	EXPECT_LT(0u, fate[FRAGML_FATE(1, 0)]);	/* churned */
	EXPECT_EQ(0u, fate[FRAGML_FATE(0, 1)] + fate[FRAGML_FATE(0, 0)]);	/* never predicted short */
	f = open_memstream(&buf, &len);
	ASSERT_NE(NULL, f);
	fragml_ident_table(&id, f, 0);
	fragml_ident_json(&id, f, 0);
	fragml_ident_prometheus(&id, f, 0);
	fclose(f);
	EXPECT_NE(NULL, strstr(buf, " PREC "));
	EXPECT_NE(NULL, strstr(buf, "\"precision\":"));
	EXPECT_NE(NULL, strstr(buf, "\"predicted_long_lived_long\":"));
	EXPECT_NE(NULL, strstr(buf, "fragml_source_lifetime_precision{"));
	EXPECT_NE(NULL, strstr(buf, "pageblocks polluted now "));
	EXPECT_NE(NULL, strstr(buf, "\"polluted_share\":"));
	free(buf);
	fragml_ident_free(&id);
	close_private(h, bpffs);
}

TEST(environment_errors)
{
	char cmd[1024], line[1024], model[] = "/tmp/fragml-good-XXXXXX";
	int fd = mkstemp(model);

	ASSERT_LE(0, fd);
	close(fd);
	write_good_model(model);
	if (geteuid() == 0) {
		snprintf(cmd, sizeof(cmd), "setpriv --reuid=65534 --regid=65534 --clear-groups %s/fragml-load %s",
			 bindir, model);
		chmod(model, 0644);
		EXPECT_EQ(1, run(cmd, line, sizeof(line)));
		EXPECT_NE(NULL, strstr(line, "needs root")) TH_LOG("%s", line);
	}
	snprintf(cmd, sizeof(cmd), "FRAGML_BTF=/nonexistent/vmlinux %s/fragml-load %s", bindir, model);
	EXPECT_EQ(1, run(cmd, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, "kernel BTF missing")) TH_LOG("%s", line);
	if (geteuid() == 0) {
		/* /proc refuses new directories: bpffs can be neither found nor mounted */
		snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=/proc/fragml-bpffs %s/fragml-load %s", bindir, model);
		EXPECT_EQ(1, run(cmd, line, sizeof(line)));
		EXPECT_NE(NULL, strstr(line, "/proc/fragml-bpffs")) TH_LOG("%s", line);
		EXPECT_EQ(1, count_lines(line));
	}
	/* --check needs neither root nor BPF */
	snprintf(cmd, sizeof(cmd), "setpriv --reuid=65534 --regid=65534 --clear-groups %s/fragml-load --check %s",
		 bindir, model);
	if (geteuid() == 0)
		EXPECT_EQ(0, run(cmd, line, sizeof(line))) TH_LOG("%s", line);
	unlink(model);
}

/* --check refuses what it cannot read as a model file or what publishing would
 * refuse, with one line each (inputs found by fuzzing the command). */
TEST(check_refuses_bad_inputs)
{
	char dir[] = "/tmp/fragml-check-XXXXXX", path[4200], cmd[2048], line[1024];
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	size_t l;

	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, mkdtemp(dir));

	/* a FIFO: refused at once, not a read that waits for a writer */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ASSERT_EQ(0, mkfifo(path, 0600));
	snprintf(cmd, sizeof(cmd), "timeout 20 %s/fragml-load --check %s", bindir, path);
	EXPECT_EQ(1, run(cmd, line, sizeof(line))) TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "not a regular file (a FIFO)")) TH_LOG("%s", line);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "%s/fragml-load --check %s", bindir, dir);
	EXPECT_EQ(1, run(cmd, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, "not a regular file (a directory)")) TH_LOG("%s", line);

	/* another feature schema: "valid" would be a lie, publishing refuses it */
	snprintf(path, sizeof(path), "%s/schema2.bin", dir);
	tl_random_model(m, FRAGML_HOOK_LIFETIME, 1, 2, 0, 1);
	m->schema = FRAGML_SCHEMA_VERSION + 1;
	ASSERT_EQ(0, fragml_model_write_file(m, path, &err)) TH_LOG("%s", err.msg);
	snprintf(cmd, sizeof(cmd), "%s/fragml-load --check %s", bindir, path);
	EXPECT_EQ(1, run(cmd, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, "feature schema 2, this fragml implements schema 1")) TH_LOG("%s", line);
	unlink(path);

	/* a split on a feature the hook computes only in the other mode: refused
	 * for the mode asked (default: the one a load would run in), naming it */
	snprintf(path, sizeof(path), "%s/gfp.bin", dir);
	tl_random_model(m, FRAGML_HOOK_THP_FAULT, 1, 1, 0, 1);
	m->nodes[0] = (struct fragml_node){ .info = FRAGML_F_GFP_BITS, .left = 1, .value = 4096 };
	m->nodes[1] = (struct fragml_node){ .info = FRAGML_NODE_LEAF, .value = -65536 };
	m->nodes[2] = (struct fragml_node){ .info = FRAGML_NODE_LEAF, .value = 65536 };
	m->n_nodes = 3;
	m->n_trees = 1;
	ASSERT_EQ(0, fragml_model_write_file(m, path, &err)) TH_LOG("%s", err.msg);
	snprintf(cmd, sizeof(cmd), "%s/fragml-load --check --mode observe %s", bindir, path);
	EXPECT_EQ(1, run(cmd, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, "feature gfp_bits is computed at hook thp_fault only in enforce mode"))
		TH_LOG("%s", line);
	snprintf(cmd, sizeof(cmd), "%s/fragml-load --check --mode enforce %s", bindir, path);
	EXPECT_EQ(0, run(cmd, line, sizeof(line))) TH_LOG("%s", line);
	snprintf(cmd, sizeof(cmd), "%s/fragml-load --check --mode sideways %s", bindir, path);
	EXPECT_EQ(2, run(cmd, line, sizeof(line))) TH_LOG("%s", line);
	unlink(path);

	/* a newline in the file name: still one line, the newline escaped */
	snprintf(path, sizeof(path), "%s/a\nb.bin", dir);
	EXPECT_GT(0, fragml_model_read_file(m, path, &err));
	EXPECT_EQ(NULL, strchr(err.msg, '\n')) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "/a\\nb.bin: cannot open: No such file")) TH_LOG("%s", err.msg);

	/* a 4000-byte name: shortened in the middle, the reason kept */
	l = (size_t)snprintf(path, sizeof(path), "%s/", dir);
	memset(path + l, 'x', 4000 - l);
	path[4000] = '\0';
	EXPECT_GT(0, fragml_model_read_file(m, path, &err));
	EXPECT_GT(FRAGML_ERR_MSG_MAX, (int)strlen(err.msg));
	EXPECT_EQ(0, strncmp(err.msg, dir, strlen(dir))) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "...")) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "xx: cannot open: File name too long")) TH_LOG("%s", err.msg);

	rmdir(dir);
	free(m);
}

int main(int argc, char **argv)
{
	tl_bindir(bindir, sizeof(bindir));
	return test_harness_run(argc, argv);
}
