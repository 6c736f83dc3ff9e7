// SPDX-License-Identifier: GPL-2.0
/*
 * Trainer selftests: a known rule is recovered exactly (and evaluates the same
 * in the kernel), bad CSV is refused with a message naming the problem, the
 * same seed gives a byte-identical model.bin, float32 exactness is enforced,
 * the integer model agrees with XGBoost's float decisions, and the split never
 * mixes time or held-out workloads.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "testlib.h"

#include "fragml_dataset.h"
#include "fragml_load.h"
#include "fragml_train.h"

static uint64_t seed_state;
static uint32_t rnd(void)
{
	seed_state = seed_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(seed_state >> 33);
}

/* label = order < 17 && gfp_bits >= 2, plus an uninformative feature */
static unsigned int rule(const int32_t *x)
{
	return x[FRAGML_F_ORDER] < 17 && x[FRAGML_F_GFP_BITS] >= 2;
}

static void make_rule_dataset(struct fragml_dataset *ds, unsigned int rows)
{
	static const char *const wl[] = { "wa", "wb", "wc", "wd" };
	struct fragml_err err = { 0 };

	seed_state = 42;
	fragml_dataset_init(ds);
	for (unsigned int i = 0; i < rows; i++) {
		int32_t x[FRAGML_MAX_FEATURES];

		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			x[k] = FRAGML_MISSING;
		x[FRAGML_F_ORDER] = (int32_t)(rnd() % 32);
		x[FRAGML_F_GFP_BITS] = (int32_t)(rnd() % 6);
		x[FRAGML_F_TASK_ALLOC_RATE] = (int32_t)(rnd() % 100000);
		x[FRAGML_F_ALLOC_CLASS] = (int32_t)(rnd() % FRAGML_NR_CLASSES);
		fragml_dataset_add_row(ds, 1000ull * (i / 4), wl[i % 4], FRAGML_HOOK_LIFETIME,
				       (unsigned int)x[FRAGML_F_ALLOC_CLASS], "src", x, rule(x), &err);
	}
}

/* A noisy problem: label depends on three features through a soft rule. */
static void make_noisy_dataset(struct fragml_dataset *ds, unsigned int rows)
{
	static const char *const wl[] = { "n1", "n2", "n3", "n4", "n5" };
	struct fragml_err err = { 0 };

	seed_state = 7;
	fragml_dataset_init(ds);
	for (unsigned int i = 0; i < rows; i++) {
		int32_t x[FRAGML_MAX_FEATURES];
		double z;

		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			x[k] = FRAGML_MISSING;
		x[FRAGML_F_UNUSABLE_PPK] = (int32_t)(rnd() % 1025);
		x[FRAGML_F_COMPACT_FAIL_PPK] = (int32_t)(rnd() % 1025);
		x[FRAGML_F_ZONE_FREE_LOG2] = (int32_t)(8 + rnd() % 12);
		if (rnd() % 10 == 0)
			x[FRAGML_F_ZONE_FREE_LOG2] = FRAGML_MISSING;
		x[FRAGML_F_COMPACT_PRIO] = (int32_t)(rnd() % 3);
		z = -4.0 * (x[FRAGML_F_COMPACT_FAIL_PPK] / 1024.0 - 0.5) -
		    2.0 * (x[FRAGML_F_UNUSABLE_PPK] / 1024.0 - 0.5) +
		    (x[FRAGML_F_ZONE_FREE_LOG2] == FRAGML_MISSING ? 0 : 0.2 * (x[FRAGML_F_ZONE_FREE_LOG2] - 14));
		fragml_dataset_add_row(ds, 1000ull * i, wl[i % 5], FRAGML_HOOK_COMPACTION,
				       FRAGML_CLASS_UNKNOWN, "zone", x,
				       (rnd() % 10000) / 10000.0 < 1 / (1 + exp(-3 * z)), &err);
	}
}

static void opts_for(struct fragml_train_opts *o, unsigned int hook)
{
	fragml_train_opts_init(o, hook);
	o->kind = FRAGML_TRAIN_BINARY;
	o->n_trees = 16;
	o->max_depth = 4;
}

/* One scratch directory for the whole run: made before the harness forks its
 * per-test children, removed by the parent at exit. */
static char tmpdir[PATH_MAX];
static pid_t tmp_owner;

__attribute__((constructor)) static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/fragml-test-trainer.XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
	tmp_owner = getpid();
}

__attribute__((destructor)) static void remove_tmpdir(void)
{
	char cmd[PATH_MAX + 16];

	if (getpid() != tmp_owner)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", tmpdir);
}

static const char *tmp_path(const char *name)
{
	static char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A valid header + one row, built from the registry. */
static void csv_header(char *buf, size_t cap, const char *skip, const char *extra)
{
	const struct fragml_feature_desc *d;
	size_t n = (size_t)snprintf(buf, cap, "ts_ns,workload,hook,class,source");

	for (unsigned int i = 0; (d = fragml_feature_at(i)); i++)
		if (!skip || strcmp(skip, d->name))
			n += (size_t)snprintf(buf + n, cap - n, ",%s", d->name);
	if (extra)
		n += (size_t)snprintf(buf + n, cap - n, ",%s", extra);
	snprintf(buf + n, cap - n, ",label\n");
}

static void csv_row(char *buf, size_t cap, int nfeat, const char *order_cell)
{
	size_t n = strlen(buf);

	n += (size_t)snprintf(buf + n, cap - n, "1000,w,lifetime,slab,s");
	for (int i = 0; i < nfeat; i++)
		n += (size_t)snprintf(buf + n, cap - n, ",%s", i == 0 ? order_cell : "");
	snprintf(buf + n, cap - n, ",1\n");
}

static int count_features(void)
{
	int n = 0;

	while (fragml_feature_at((unsigned int)n))
		n++;
	return n;
}

static int read_csv_text(const char *name, const char *text, struct fragml_err *err)
{
	struct fragml_dataset ds;
	int ret;

	write_file(tmp_path(name), text);
	fragml_dataset_init(&ds);
	ret = fragml_dataset_read_csv(&ds, tmp_path(name), NULL, err);
	fragml_dataset_free(&ds);
	return ret;
}

TEST(rule_recovered_exactly)
{
	struct fragml_dataset ds, back;
	struct fragml_train_opts o;
	struct fragml_train_result *res = malloc(sizeof(*res));
	struct fragml_split_opts so = { .test_workloads = "wd", .val_frac = 0.15, .test_frac = 0.2 };
	struct fragml_err err = { 0 };
	uint8_t *part;
	int seen_order = 0, seen_gfp = 0;
	size_t wrong = 0;

	ASSERT_NE(NULL, res);
	make_rule_dataset(&ds, 8000);
	/* through the CSV, like fragml-train */
	ASSERT_EQ(0, fragml_dataset_write_csv(&ds, tmp_path("rule.csv"), &err));
	fragml_dataset_init(&back);
	ASSERT_EQ(0, fragml_dataset_read_csv(&back, tmp_path("rule.csv"), NULL, &err))
		TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_EQ(ds.n_rows, back.n_rows);
	ASSERT_EQ(0, memcmp(ds.x, back.x, ds.n_rows * FRAGML_MAX_FEATURES * sizeof(int32_t)));
	part = malloc(back.n_rows);
	ASSERT_EQ(0, fragml_dataset_split(&back, &so, part, &err));
	opts_for(&o, FRAGML_HOOK_LIFETIME);
	ASSERT_EQ(0, fragml_train(&back, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));

	/* every vector, seen or not, classified right by the integer model */
	for (size_t r = 0; r < back.n_rows; r++)
		wrong += fragml_model_eval(&res->model, back.x + r * FRAGML_MAX_FEATURES, NULL) !=
			 back.label[r];
	EXPECT_EQ(0, wrong);
	/* and on the whole grid, including values never drawn together */
	for (int order = -2; order < 40; order++)
		for (int gfp = -1; gfp < 9; gfp++) {
			int32_t x[FRAGML_MAX_FEATURES];

			for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
				x[k] = FRAGML_MISSING;
			x[FRAGML_F_ORDER] = order < 0 ? 0 : order;
			x[FRAGML_F_GFP_BITS] = gfp < 0 ? 0 : gfp;
			x[FRAGML_F_TASK_ALLOC_RATE] = 5000;
			x[FRAGML_F_ALLOC_CLASS] = 2;
			if (order > 31 || gfp > 5)
				continue;	/* outside the training range: no claim */
			EXPECT_EQ(rule(x), fragml_model_eval(&res->model, x, NULL))
				TH_LOG("order %d gfp_bits %d", x[FRAGML_F_ORDER], x[FRAGML_F_GFP_BITS]);
		}
	/* the cut points are the rule's, as integers */
	for (unsigned int i = 0; i < res->model.n_nodes; i++) {
		const struct fragml_node *n = &res->model.nodes[i];

		if (n->info & FRAGML_NODE_LEAF)
			continue;
		if ((n->info & FRAGML_NODE_FEAT_MASK) == FRAGML_F_ORDER && n->value == 17)
			seen_order = 1;
		if ((n->info & FRAGML_NODE_FEAT_MASK) == FRAGML_F_GFP_BITS && n->value == 2)
			seen_gfp = 1;
	}
	EXPECT_TRUE(seen_order);
	EXPECT_TRUE(seen_gfp);
	EXPECT_EQ(1.0, res->m[FRAGML_PART_CROSS].f1);
	EXPECT_EQ(res->parity_n, res->parity_agree);
	ASSERT_EQ(0, fragml_model_write_file(&res->model, tmp_path("rule.bin"), &err));
	free(part);
	free(res);
	fragml_dataset_free(&ds);
	fragml_dataset_free(&back);
}

/*
 * --threshold-from workloads: the threshold is chosen on each training
 * workload scored by a model trained without it.  On the rule (learnable from
 * any three workloads) the model still recovers it on the held-out workload;
 * with one training workload there is nothing to score out of workload, and
 * the trainer says so instead of falling back silently.
 */
TEST(threshold_from_workloads)
{
	struct fragml_dataset ds;
	struct fragml_train_opts o;
	struct fragml_train_result *res = malloc(sizeof(*res));
	struct fragml_split_opts so = { .test_workloads = "wd", .val_frac = 0.15, .test_frac = 0.2 };
	struct fragml_err err = { 0 };
	uint8_t *part;
	size_t wrong = 0;

	ASSERT_NE(NULL, res);
	make_rule_dataset(&ds, 8000);
	part = malloc(ds.n_rows);
	ASSERT_NE(NULL, part);
	ASSERT_EQ(0, fragml_dataset_split(&ds, &so, part, &err));
	opts_for(&o, FRAGML_HOOK_LIFETIME);
	o.threshold_xfit = 1;
	ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	for (size_t r = 0; r < ds.n_rows; r++)
		wrong += fragml_model_eval(&res->model, ds.x + r * FRAGML_MAX_FEATURES, NULL) != ds.label[r];
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(1.0, res->m[FRAGML_PART_CROSS].f1);
	EXPECT_EQ(res->parity_n, res->parity_agree);

	so.test_workloads = "wb,wc,wd";
	ASSERT_EQ(0, fragml_dataset_split(&ds, &so, part, &err));
	EXPECT_NE(0, fragml_train(&ds, part, &o, res, &err));
	EXPECT_NE(NULL, strstr(fragml_err_msg(&err), "at least two training workloads"))
		TH_LOG("%s", fragml_err_msg(&err));
	o.threshold_xfit = 0;
	EXPECT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	free(part);
	free(res);
	fragml_dataset_free(&ds);
}

/*
 * --positive: a binary model that answers the hook's first action or a later
 * one (the fallback gate's now/compact): the rule's positives get compact
 * (2), never defer (1), in userspace and after a write and a parse; an
 * action the hook lacks, or a positive action on another kind, is refused.
 */
TEST(positive_action_compact)
{
	struct fragml_dataset ds;
	struct fragml_train_opts o;
	struct fragml_train_result *res = malloc(sizeof(*res));
	struct fragml_split_opts so = { .test_workloads = "wd", .val_frac = 0.15, .test_frac = 0.2 };
	struct fragml_model *back = malloc(sizeof(*back));
	struct fragml_err err = { 0 };
	static const char *const wl[] = { "wa", "wb", "wc", "wd" };
	size_t wrong = 0, n_compact = 0;
	uint8_t *part;

	ASSERT_NE(NULL, res);
	ASSERT_NE(NULL, back);
	seed_state = 9;
	fragml_dataset_init(&ds);
	for (unsigned int i = 0; i < 4000; i++) {
		int32_t x[FRAGML_MAX_FEATURES];

		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			x[k] = FRAGML_MISSING;
		x[FRAGML_F_ORDER] = (int32_t)(rnd() % 32);
		x[FRAGML_F_GFP_BITS] = (int32_t)(rnd() % 6);
		ASSERT_EQ(0, fragml_dataset_add_row(&ds, 1000ull * (i / 4), wl[i % 4], FRAGML_HOOK_FALLBACK,
						    FRAGML_CLASS_UNKNOWN, "src", x, rule(x), &err));
	}
	part = malloc(ds.n_rows);
	ASSERT_EQ(0, fragml_dataset_split(&ds, &so, part, &err));
	opts_for(&o, FRAGML_HOOK_FALLBACK);
	o.positive_action = FRAGML_FALLBACK_COMPACT;
	ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	EXPECT_EQ(3, res->model.n_actions);
	EXPECT_EQ(FRAGML_OUT_ORDINAL, res->model.output);
	EXPECT_EQ(res->model.thresholds[0], res->model.thresholds[1]);
	ASSERT_EQ(0, fragml_model_write_file(&res->model, tmp_path("compact.bin"), &err));
	ASSERT_EQ(0, fragml_model_read_file(back, tmp_path("compact.bin"), &err)) TH_LOG("%s", err.msg);
	for (size_t r = 0; r < ds.n_rows; r++) {
		const int32_t *x = ds.x + r * FRAGML_MAX_FEATURES;
		unsigned int a = fragml_model_eval(back, x, NULL);

		wrong += a != (ds.label[r] ? FRAGML_FALLBACK_COMPACT : FRAGML_FALLBACK_NOW);
		n_compact += a == FRAGML_FALLBACK_COMPACT;
	}
	EXPECT_EQ(0, wrong);
	EXPECT_GT(n_compact, 0);
	/* refused: an action fallback lacks, and a positive action on another kind */
	o.positive_action = 3;
	EXPECT_EQ(-EINVAL, fragml_train(&ds, part, &o, res, &err));
	EXPECT_NE(NULL, strstr(err.msg, "--positive")) TH_LOG("%s", err.msg);
	o.positive_action = FRAGML_FALLBACK_COMPACT;
	o.kind = FRAGML_TRAIN_ARGMAX;
	EXPECT_EQ(-EINVAL, fragml_train(&ds, part, &o, res, &err));
	free(part);
	free(res);
	free(back);
	fragml_dataset_free(&ds);
}

TEST(rule_evaluates_identically_in_kernel)
{
	struct fragml_dataset ds;
	struct fragml_train_opts o;
	struct fragml_train_result *res = malloc(sizeof(*res));
	struct fragml_open_opts oo = { .install = true, .no_policy = true, .test_run = true };
	struct fragml_handle *h = NULL;
	struct fragml_open_info info = { 0 };
	struct fragml_err err = { 0 };
	char bpffs[64] = "";
	struct fragml_vec *vecs;
	struct fragml_result *out;
	uint8_t *part;
	uint32_t version;
	unsigned int n;
	int ret;

	if (geteuid() != 0)
		SKIP(return, "needs root for BPF");
	ASSERT_NE(NULL, res);
	make_rule_dataset(&ds, 4000);
	part = calloc(ds.n_rows, 1);	/* all train: the model is the point here */
	opts_for(&o, FRAGML_HOOK_LIFETIME);
	ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	/* a private bpffs: the live /sys/fs/bpf/fragml is never touched */
	ASSERT_EQ(0, tl_private_bpffs(bpffs, sizeof(bpffs)));
	oo.bpffs = bpffs;
	ret = fragml_open(&h, &oo, &info, &err);
	if (ret)
		SKIP(goto out, "cannot load the fragml BPF programs: %s", fragml_err_msg(&err));
	ASSERT_EQ(0, fragml_publish(h, &res->model, &version, &err)) TH_LOG("%s", fragml_err_msg(&err));
	n = ds.n_rows < FRAGML_TEST_VECS ? (unsigned int)ds.n_rows : FRAGML_TEST_VECS;
	vecs = calloc(n, sizeof(*vecs));
	out = calloc(n, sizeof(*out));
	for (unsigned int i = 0; i < n; i++)
		memcpy(vecs[i].f, ds.x + (size_t)i * FRAGML_MAX_FEATURES, sizeof(vecs[i].f));
	ret = fragml_kernel_eval(h, FRAGML_HOOK_LIFETIME, vecs, n, out, false, &err);
	ASSERT_EQ((int)n, ret) TH_LOG("%s", fragml_err_msg(&err));
	for (unsigned int i = 0; i < n; i++) {
		struct fragml_eval_out ref;

		fragml_model_eval(&res->model, vecs[i].f, &ref);
		ASSERT_EQ(version, out[i].version);
		ASSERT_EQ(ref.action, out[i].action) TH_LOG("vector %u", i);
		ASSERT_EQ(ref.score, out[i].score) TH_LOG("vector %u", i);
		ASSERT_EQ(ds.label[i], out[i].action) TH_LOG("vector %u", i);
	}
	free(vecs);
	free(out);
out:
	if (h)
		fragml_close(h);
	if (bpffs[0]) {	/* never the live /sys/fs/bpf */
		fragml_detach(&oo, NULL);
		tl_release_bpffs(bpffs);
	}
	free(part);
	free(res);
	fragml_dataset_free(&ds);
}

TEST(same_seed_byte_identical)
{
	struct fragml_dataset ds;
	struct fragml_train_opts o;
	struct fragml_train_result *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct fragml_err err = { 0 };
	static uint8_t ba[80000], bb[80000];
	uint8_t *part;
	int la, lb;

	ASSERT_TRUE(a && b);
	make_noisy_dataset(&ds, 6000);
	part = malloc(ds.n_rows);
	ASSERT_EQ(0, fragml_dataset_split(&ds, NULL, part, &err));
	opts_for(&o, FRAGML_HOOK_COMPACTION);
	o.seed = 7;
	ASSERT_EQ(0, fragml_train(&ds, part, &o, a, &err)) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_EQ(0, fragml_train(&ds, part, &o, b, &err)) TH_LOG("%s", fragml_err_msg(&err));
	la = fragml_model_serialize(&a->model, ba, sizeof(ba), &err);
	lb = fragml_model_serialize(&b->model, bb, sizeof(bb), &err);
	ASSERT_GT(la, 0);
	ASSERT_EQ(la, lb);
	ASSERT_EQ(0, memcmp(ba, bb, (size_t)la));
	free(part);
	free(a);
	free(b);
	fragml_dataset_free(&ds);
}

TEST(quantisation_parity)
{
	struct fragml_dataset ds;
	struct fragml_train_opts o;
	struct fragml_train_result *res = malloc(sizeof(*res));
	struct fragml_err err = { 0 };
	uint8_t *part;

	ASSERT_NE(NULL, res);
	make_noisy_dataset(&ds, 20000);
	part = malloc(ds.n_rows);
	ASSERT_EQ(0, fragml_dataset_split(&ds, NULL, part, &err));
	opts_for(&o, FRAGML_HOOK_COMPACTION);
	o.n_trees = 32;
	o.max_depth = 6;
	ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_GT(res->parity_n, 4000);
	EXPECT_GE(res->parity, 0.999) TH_LOG("%zu of %zu differ", res->n_disagree_total, res->parity_n);
	/* our reading of XGBoost's JSON reproduces its margins */
	EXPECT_LT(res->max_margin_err, 1e-4);
	/* Q15.16 leaves: error bounded by half an ulp per tree and the base */
	EXPECT_LE(res->max_quant_err, (res->model.n_trees + 1) * 0.5 / 65536 + 1e-5);
	EXPECT_GT(res->m[FRAGML_PART_CROSS].auc, 0.8);

	/* the 3-action ordinal model: ascending thresholds, all actions reachable */
	o.hook = FRAGML_HOOK_THP_FAULT;
	for (size_t r = 0; r < ds.n_rows; r++) {
		int32_t *x = ds.x + r * FRAGML_MAX_FEATURES;

		ds.hook[r] = FRAGML_HOOK_THP_FAULT;
		x[FRAGML_F_FREE_HUGE_BLOCKS] = x[FRAGML_F_ZONE_FREE_LOG2];
		x[FRAGML_F_ZONE_FREE_LOG2] = FRAGML_MISSING;
		x[FRAGML_F_COMPACT_PRIO] = FRAGML_MISSING;
	}
	o.kind = FRAGML_TRAIN_ORDINAL3;
	o.compact_precision = 0.9;
	ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_EQ(3, res->model.n_actions);
	ASSERT_LE(res->model.thresholds[0], res->model.thresholds[1]);
	EXPECT_GT(res->m[FRAGML_PART_TEST].confusion[1][2], 0);
	EXPECT_GE(res->parity, 0.999);
	free(part);
	free(res);
	fragml_dataset_free(&ds);
}

/* --decline-precision / --never-compact: decline only where the declined validation rows are that
 * precisely "not worth it" (label 0); a lower t1 than F1's, never a higher one */
TEST(decline_precision_conservative)
{
	struct fragml_dataset ds;
	struct fragml_train_opts o;
	struct fragml_train_result *res = malloc(sizeof(*res));
	struct fragml_err err = { 0 };
	int32_t t1_f1;
	uint8_t *part;

	ASSERT_NE(NULL, res);
	make_noisy_dataset(&ds, 20000);
	for (size_t r = 0; r < ds.n_rows; r++) {
		int32_t *x = ds.x + r * FRAGML_MAX_FEATURES;

		ds.hook[r] = FRAGML_HOOK_THP_FAULT;
		x[FRAGML_F_FREE_HUGE_BLOCKS] = x[FRAGML_F_ZONE_FREE_LOG2];
		x[FRAGML_F_ZONE_FREE_LOG2] = FRAGML_MISSING;
		x[FRAGML_F_COMPACT_PRIO] = FRAGML_MISSING;
	}
	part = malloc(ds.n_rows);
	ASSERT_EQ(0, fragml_dataset_split(&ds, NULL, part, &err));
	opts_for(&o, FRAGML_HOOK_THP_FAULT);
	o.kind = FRAGML_TRAIN_ORDINAL3;
	o.n_trees = 8;
	ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	t1_f1 = res->model.thresholds[0];
	for (int i = 0; i < 3; i++) {
		static const double p[] = { 0.9, 0.97, 1.0 };
		const struct fragml_metrics *v;
		size_t declined;

		o.decline_precision = p[i];
		ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
		v = &res->m[FRAGML_PART_VAL];
		declined = v->confusion[0][0] + v->confusion[1][0];
		EXPECT_LE(res->model.thresholds[0], t1_f1);
		EXPECT_LE(res->model.thresholds[0], res->model.thresholds[1]);
		if (res->model.thresholds[0] == INT32_MIN + 1) {
			EXPECT_EQ(0, declined);
		} else {
			EXPECT_GE((double)v->confusion[0][0], p[i] * declined - 1e-9)
				TH_LOG("P %.2f: %zu of %zu declined are label 0", p[i], v->confusion[0][0], declined);
		}
	}
	/* --never-compact: t2 = INT32_MAX, no row is given compact */
	o.decline_precision = 0;
	o.never_compact = 1;
	ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	EXPECT_EQ(INT32_MAX, res->model.thresholds[1]);
	EXPECT_EQ(t1_f1, res->model.thresholds[0]);
	for (int p = 0; p < FRAGML_NR_PARTS; p++)
		EXPECT_EQ(0, res->m[p].confusion[0][2] + res->m[p].confusion[1][2]);
	o.decline_precision = 1.5;
	EXPECT_NE(0, fragml_train(&ds, part, &o, res, &err));
	EXPECT_NE(NULL, strstr(fragml_err_msg(&err), "decline precision"));
	free(part);
	free(res);
	fragml_dataset_free(&ds);
}

TEST(bad_csv_refused)
{
	struct fragml_err err = { 0 };
	char buf[8192];
	int nf = count_features();

	/* empty file */
	ASSERT_EQ(-ENODATA, read_csv_text("empty.csv", "", &err));
	EXPECT_NE(NULL, strstr(err.msg, "empty.csv"));
	EXPECT_NE(NULL, strstr(err.msg, "empty file"));

	/* header only */
	csv_header(buf, sizeof(buf), NULL, NULL);
	ASSERT_EQ(-ENODATA, read_csv_text("hdr.csv", buf, &err));
	EXPECT_NE(NULL, strstr(err.msg, "no data rows"));

	/* missing fixed column */
	ASSERT_EQ(-EINVAL, read_csv_text("nolabel.csv", "ts_ns,workload,hook,class,source,order\n1,w,lifetime,slab,s,3\n", &err));
	EXPECT_NE(NULL, strstr(err.msg, "missing column 'label'")) TH_LOG("%s", err.msg);

	/* missing feature column */
	csv_header(buf, sizeof(buf), "gfp_bits", NULL);
	csv_row(buf, sizeof(buf), nf - 1, "3");
	ASSERT_EQ(-EINVAL, read_csv_text("nofeat.csv", buf, &err));
	EXPECT_NE(NULL, strstr(err.msg, "missing column 'gfp_bits'")) TH_LOG("%s", err.msg);

	/* unknown feature between source and label */
	csv_header(buf, sizeof(buf), NULL, "bogus_feature");
	csv_row(buf, sizeof(buf), nf + 1, "3");
	ASSERT_EQ(-EINVAL, read_csv_text("unknown.csv", buf, &err));
	EXPECT_NE(NULL, strstr(err.msg, "unknown feature 'bogus_feature'")) TH_LOG("%s", err.msg);

	/* non-numeric cell: names line and column */
	csv_header(buf, sizeof(buf), NULL, NULL);
	csv_row(buf, sizeof(buf), nf, "3");
	csv_row(buf, sizeof(buf), nf, "three");
	ASSERT_EQ(-EINVAL, read_csv_text("nonnum.csv", buf, &err));
	EXPECT_NE(NULL, strstr(err.msg, "nonnum.csv:3")) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "'order'")) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "'three'")) TH_LOG("%s", err.msg);

	/* wrong number of cells */
	csv_header(buf, sizeof(buf), NULL, NULL);
	strcat(buf, "1,w,lifetime\n");
	ASSERT_EQ(-EINVAL, read_csv_text("short.csv", buf, &err));
	EXPECT_NE(NULL, strstr(err.msg, "short.csv:2")) TH_LOG("%s", err.msg);

	/* auxiliary columns after label are ignored; a good file reads */
	csv_header(buf, sizeof(buf), NULL, NULL);
	buf[strlen(buf) - 1] = '\0';
	strcat(buf, ",block_mt,life_ms,pfn,site,life_class,pollutes\n");
	{
		size_t n = strlen(buf);

		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "1000,w,lifetime,slab,s");
		for (int i = 0; i < nf; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",%s", i == 0 ? "3" : "");
		snprintf(buf + n, sizeof(buf) - n, ",1,0,,12345,00c0ffee00c0ffee,,0\n");
	}
	ASSERT_EQ(0, read_csv_text("aux.csv", buf, &err)) TH_LOG("%s", err.msg);
}

TEST(float32_exactness_enforced)
{
	struct fragml_err err = { 0 };
	struct fragml_dataset ds;
	char buf[8192];
	int nf = count_features();

	/* 2^24 cannot be told apart from 2^24 + 1 in float32: refused at read */
	csv_header(buf, sizeof(buf), NULL, NULL);
	csv_row(buf, sizeof(buf), nf, "16777216");
	ASSERT_EQ(-ERANGE, read_csv_text("big.csv", buf, &err));
	EXPECT_NE(NULL, strstr(err.msg, "float32")) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "'order'")) TH_LOG("%s", err.msg);
	/* the largest legal value reads */
	csv_header(buf, sizeof(buf), NULL, NULL);
	csv_row(buf, sizeof(buf), nf, "16777215");
	ASSERT_EQ(0, read_csv_text("max.csv", buf, &err)) TH_LOG("%s", err.msg);

	/* and a dataset built in memory is checked before training */
	make_rule_dataset(&ds, 100);
	ASSERT_EQ(0, fragml_dataset_check_float32(&ds, &err));
	ds.x[5 * FRAGML_MAX_FEATURES + FRAGML_F_TASK_ALLOC_RATE] = 16777217;
	ASSERT_EQ(-ERANGE, fragml_dataset_check_float32(&ds, &err));
	EXPECT_NE(NULL, strstr(err.msg, "task_alloc_rate")) TH_LOG("%s", err.msg);
	{
		struct fragml_train_opts o;
		struct fragml_train_result *res = malloc(sizeof(*res));
		uint8_t *part = calloc(ds.n_rows, 1);

		opts_for(&o, FRAGML_HOOK_LIFETIME);
		EXPECT_EQ(-ERANGE, fragml_train(&ds, part, &o, res, &err));
		free(res);
		free(part);
	}
	/* every registered scale keeps the bound in the registry itself */
	ASSERT_EQ(16777215, FRAGML_FEAT_MAX);
	ASSERT_EQ((int32_t)(float)FRAGML_FEAT_MAX, FRAGML_FEAT_MAX);
	fragml_dataset_free(&ds);
}

TEST(split_by_workload_and_time)
{
	struct fragml_dataset ds;
	struct fragml_split_opts so = { .test_workloads = "wb", .val_frac = 0.15, .test_frac = 0.2 };
	struct fragml_err err = { 0 };
	uint8_t *part;

	make_rule_dataset(&ds, 2000);
	part = malloc(ds.n_rows);
	ASSERT_EQ(0, fragml_dataset_split(&ds, &so, part, &err));
	for (unsigned int w = 0; w < ds.n_workloads; w++) {
		uint64_t max_ts[FRAGML_NR_PARTS] = { 0 }, min_ts[FRAGML_NR_PARTS];
		int held = !strcmp(ds.workloads[w], "wb");

		for (int p = 0; p < FRAGML_NR_PARTS; p++)
			min_ts[p] = UINT64_MAX;
		for (size_t r = 0; r < ds.n_rows; r++) {
			if (ds.workload[r] != w)
				continue;
			ASSERT_EQ(held, part[r] == FRAGML_PART_CROSS);
			if (ds.ts_ns[r] > max_ts[part[r]])
				max_ts[part[r]] = ds.ts_ns[r];
			if (ds.ts_ns[r] < min_ts[part[r]])
				min_ts[part[r]] = ds.ts_ns[r];
		}
		if (held)
			continue;
		/* train strictly before validation strictly before test (ties allowed) */
		ASSERT_LE(max_ts[FRAGML_PART_TRAIN], min_ts[FRAGML_PART_VAL]);
		ASSERT_LE(max_ts[FRAGML_PART_VAL], min_ts[FRAGML_PART_TEST]);
	}
	so.test_workloads = "nope";
	ASSERT_EQ(-ENOENT, fragml_dataset_split(&ds, &so, part, &err));
	EXPECT_NE(NULL, strstr(err.msg, "'nope'"));
	free(part);
	fragml_dataset_free(&ds);
}

/* fragml-mkmodel of the same build (build/bin). */
static int run_mkmodel(const char *args, const char *out)
{
	char bin[PATH_MAX], cmd[PATH_MAX * 2 + 256];
	int st;

	tl_bindir(bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "%s/fragml-mkmodel %s -o %s 2>/dev/null", bin, args, out);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Every feature missing in x; whether fragml-mkmodel can be run. */
static bool mkmodel_ready(int32_t *x)
{
	for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
		x[k] = FRAGML_MISSING;
	return run_mkmodel("--help >/dev/null", "/dev/null") == 0;
}

TEST(mkmodel_constant_and_rule)
{
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	int32_t x[FRAGML_MAX_FEATURES];

	if (!mkmodel_ready(x))
		SKIP(return, "fragml-mkmodel not built in build/bin");
	ASSERT_EQ(0, run_mkmodel("--hook thp_fault --const decline", tmp_path("decl.bin")));
	ASSERT_EQ(0, fragml_model_read_file(m, tmp_path("decl.bin"), &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(FRAGML_THP_DECLINE, fragml_model_eval(m, x, NULL));
	ASSERT_EQ(0, run_mkmodel("--hook thp_fault --const compact", tmp_path("cmp.bin")));
	ASSERT_EQ(0, fragml_model_read_file(m, tmp_path("cmp.bin"), &err));
	EXPECT_EQ(FRAGML_THP_COMPACT, fragml_model_eval(m, x, NULL));

	ASSERT_EQ(0, run_mkmodel("--hook compaction --rule 'unusable_ppk<600?run:skip'", tmp_path("r.bin")));
	ASSERT_EQ(0, fragml_model_read_file(m, tmp_path("r.bin"), &err));
	x[FRAGML_F_UNUSABLE_PPK] = 599;
	EXPECT_EQ(FRAGML_COMPACT_RUN, fragml_model_eval(m, x, NULL));
	x[FRAGML_F_UNUSABLE_PPK] = 600;
	EXPECT_EQ(FRAGML_COMPACT_SKIP, fragml_model_eval(m, x, NULL));
	x[FRAGML_F_UNUSABLE_PPK] = FRAGML_MISSING;	/* default: the else branch */
	EXPECT_EQ(FRAGML_COMPACT_SKIP, fragml_model_eval(m, x, NULL));

	/* refused: a feature the hook does not compute, an unknown action */
	EXPECT_NE(0, run_mkmodel("--hook lifetime --rule 'vma_huge_advised<1?short:long'", tmp_path("x.bin")));
	EXPECT_NE(0, run_mkmodel("--hook lifetime --const sometimes", tmp_path("x.bin")));
	free(m);
}

/* Nested rules: every arm of a split may be a parenthesised rule; each path
 * of the tree gives the action written on it, '>=' arms included. */
TEST(mkmodel_nested_rule)
{
	static const struct { int mt, foreign, want; } cases[] = {
		{ 0, 3, FRAGML_PLACE_SKIP }, { 0, 16, FRAGML_PLACE_CLAIM },
		{ 1, 99, FRAGML_PLACE_DEFAULT }, { 2, 15, FRAGML_PLACE_SKIP },
		{ 2, 400, FRAGML_PLACE_CLAIM },
	};
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	int32_t x[FRAGML_MAX_FEATURES];

	if (!mkmodel_ready(x))
		SKIP(return, "fragml-mkmodel not built in build/bin");
	ASSERT_EQ(0, run_mkmodel("--hook placement --rule "
				 "'migratetype<1?(block_foreign<16?skip:claim):"
				 "(migratetype>=2?(block_foreign>=16?claim:skip):default)'",
				 tmp_path("nest.bin")));
	ASSERT_EQ(0, fragml_model_read_file(m, tmp_path("nest.bin"), &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(9, m->n_nodes);	/* 4 splits, 5 leaves */
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x[FRAGML_F_MIGRATETYPE] = cases[i].mt;
		x[FRAGML_F_BLOCK_FOREIGN] = cases[i].foreign;
		EXPECT_EQ(cases[i].want, fragml_model_eval(m, x, NULL))
			TH_LOG("migratetype %d block_foreign %d", cases[i].mt, cases[i].foreign);
	}
	/* malformed: unbalanced parentheses, trailing text, an empty arm */
	EXPECT_NE(0, run_mkmodel("--hook placement --rule 'migratetype<1?(order<1?claim:skip:default'",
				 tmp_path("x.bin")));
	EXPECT_NE(0, run_mkmodel("--hook placement --rule 'migratetype<1?claim:skip)'", tmp_path("x.bin")));
	EXPECT_NE(0, run_mkmodel("--hook placement --rule 'migratetype<1?:skip'", tmp_path("x.bin")));
	free(m);
}

/* --eval / fragml_model_metrics_class: a compiled model scored on data without
 * training gives, per class, for the system classes and overall, exactly what
 * fragml_train reported for the same rows; the CLI writes the same in JSON. */
TEST(eval_matches_training_report)
{
	static const char *const wl[] = { "e1", "e2", "e3", "e4" };
	struct fragml_dataset ds;
	struct fragml_train_opts o;
	struct fragml_train_result *res = malloc(sizeof(*res));
	struct fragml_split_opts so = { .test_workloads = "e4", .val_frac = 0.15, .test_frac = 0.2 };
	struct fragml_err err = { 0 };
	struct fragml_metrics mt;
	uint8_t *part;
	size_t n_cls = 0;
	char exe[PATH_MAX], cmd[PATH_MAX * 3 + 256], buf[256], csv[PATH_MAX + 64], bin[PATH_MAX + 64];
	FILE *f;

	ASSERT_NE(NULL, res);
	seed_state = 99;
	fragml_dataset_init(&ds);
	for (unsigned int i = 0; i < 6000; i++) {
		int32_t x[FRAGML_MAX_FEATURES];

		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			x[k] = FRAGML_MISSING;
		x[FRAGML_F_ORDER] = (int32_t)(rnd() % 32);
		x[FRAGML_F_GFP_BITS] = (int32_t)(rnd() % 6);
		x[FRAGML_F_ALLOC_CLASS] = (int32_t)(rnd() % FRAGML_NR_CLASSES);
		/* the rule with 15 % of the labels flipped: imperfect, different per class */
		ASSERT_EQ(0, fragml_dataset_add_row(&ds, 1000ull * (i / 4), wl[i % 4], FRAGML_HOOK_LIFETIME,
						    (unsigned int)x[FRAGML_F_ALLOC_CLASS], "src", x,
						    rule(x) ^ (rnd() % 100 < 15), &err));
	}
	part = malloc(ds.n_rows);
	ASSERT_NE(NULL, part);
	ASSERT_EQ(0, fragml_dataset_split(&ds, &so, part, &err));
	opts_for(&o, FRAGML_HOOK_LIFETIME);
	ASSERT_EQ(0, fragml_train(&ds, part, &o, res, &err)) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_LT(0, res->m[FRAGML_PART_CROSS].fn + res->m[FRAGML_PART_CROSS].fp);

	fragml_model_metrics_class(&res->model, &ds, part, FRAGML_PART_CROSS, -1, &mt);
	EXPECT_EQ(0, memcmp(&mt, &res->m[FRAGML_PART_CROSS], sizeof(mt)));
	fragml_model_metrics_class(&res->model, &ds, part, FRAGML_PART_CROSS, -2, &mt);
	EXPECT_EQ(0, memcmp(&mt, &res->system[FRAGML_PART_CROSS], sizeof(mt)));
	for (int c = 0; c < FRAGML_NR_CLASSES; c++) {
		fragml_model_metrics_class(&res->model, &ds, part, FRAGML_PART_CROSS, c, &mt);
		EXPECT_EQ(0, memcmp(&mt, &res->by_class[FRAGML_PART_CROSS][c], sizeof(mt)))
			TH_LOG("class %s", fragml_class_name(c));
		n_cls += mt.n;
	}
	EXPECT_EQ(res->m[FRAGML_PART_CROSS].n, n_cls);

	/* the CLI: the held-out workload alone, through CSV and model file */
	ASSERT_EQ(0, fragml_model_write_file(&res->model, tmp_path("eval.bin"), &err));
	for (size_t r = 0; r < ds.n_rows; r++)
		if (part[r] != FRAGML_PART_CROSS)
			ds.hook[r] = FRAGML_HOOK_THP_FAULT;	/* rows of another hook are skipped */
	ASSERT_EQ(0, fragml_dataset_write_csv(&ds, tmp_path("eval.csv"), &err));
	snprintf(csv, sizeof(csv), "%s", tmp_path("eval.csv"));	/* tmp_path: one static buffer */
	snprintf(bin, sizeof(bin), "%s", tmp_path("eval.bin"));
	tl_bindir(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s/fragml-train --help >/dev/null 2>&1", exe);
	if (system(cmd) != 0)
		SKIP(goto done, "fragml-train not built in %s", exe);
	snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook lifetime --data %s --eval %s -r - 2>&1 | "
		 "grep -m1 -o 'f1.:[0-9.]*' | cut -d: -f2", exe, csv, bin);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f)) TH_LOG("no output from: %s", cmd);
	pclose(f);
	EXPECT_TRUE(fabs(res->m[FRAGML_PART_CROSS].f1 - atof(buf)) < 1e-6) TH_LOG("%s", buf);
	/* a model of another hook is refused */
	snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook thp_fault --data %s --eval %s -r - >/dev/null 2>&1",
		 exe, csv, bin);
	EXPECT_NE(0, system(cmd));
done:
	free(part);
	free(res);
	fragml_dataset_free(&ds);
}

/*
 * --loo with a workload that holds every positive: without it the training
 * rows are all label 0.  fragml-train names that workload as not scored and
 * goes on (it used to fail the whole run), and still scores the others.
 */
TEST(loo_names_a_workload_it_cannot_score)
{
	struct fragml_dataset ds;
	struct fragml_err err = { 0 };
	char exe[PATH_MAX], cmd[PATH_MAX * 3 + 256], csv[PATH_MAX + 64];

	seed_state = 7;
	fragml_dataset_init(&ds);
	for (unsigned int i = 0; i < 2000; i++) {
		int32_t x[FRAGML_MAX_FEATURES];
		int own = i % 2;	/* "mixed" has both labels, "zeros" only 0 */

		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			x[k] = FRAGML_MISSING;
		x[FRAGML_F_ORDER] = (int32_t)(rnd() % 32);
		x[FRAGML_F_GFP_BITS] = (int32_t)(rnd() % 6);
		x[FRAGML_F_ALLOC_CLASS] = (int32_t)(rnd() % FRAGML_NR_CLASSES);
		ASSERT_EQ(0, fragml_dataset_add_row(&ds, 1000ull * (i / 2), own ? "mixed" : "zeros",
						    FRAGML_HOOK_LIFETIME, (unsigned int)x[FRAGML_F_ALLOC_CLASS],
						    "src", x, own ? rule(x) : 0, &err));
	}
	ASSERT_EQ(0, fragml_dataset_write_csv(&ds, tmp_path("loo.csv"), &err));
	fragml_dataset_free(&ds);
	snprintf(csv, sizeof(csv), "%s", tmp_path("loo.csv"));
	tl_bindir(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s/fragml-train --help >/dev/null 2>&1", exe);
	if (system(cmd) != 0)
		SKIP(return, "fragml-train not built in %s", exe);
	snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook lifetime --data %s --split time --loo "
		 "-o %s/loo.bin -r %s/loo.json 2>/dev/null", exe, csv, tmpdir, tmpdir);
	ASSERT_EQ(0, system(cmd)) TH_LOG("%s", cmd);
	snprintf(cmd, sizeof(cmd), "jq -e '.leave_one_workload_out_not_scored | length == 1 and "
		 ".[0].workload == \"mixed\" and (.[0].reason | test(\"nothing to learn\"))' %s/loo.json >/dev/null",
		 tmpdir);
	EXPECT_EQ(0, system(cmd)) TH_LOG("mixed not listed as not scored");
	snprintf(cmd, sizeof(cmd), "jq -e '[.leave_one_workload_out[].workload] == [\"zeros\"]' %s/loo.json >/dev/null",
		 tmpdir);
	EXPECT_EQ(0, system(cmd)) TH_LOG("zeros not scored");
}

/* Option values must be numbers in range: `--eta abc` once trained with eta 0
 * (atof) and wrote a constant model with exit status 0. */
TEST(bad_option_values_refused)
{
	static const char *const bad[] = {
		"--eta abc", "--eta 0", "--eta 1.5", "--trees 3x", "--trees 0", "--max-depth abc",
		"--seed -1", "--seed 1.5", "--min-child-weight -1", "--val-frac x", "--test-frac 1",
		"--compact-precision 0", "--decline-precision 0", "--decline-precision 1.5", "--min-parity 2",
		"--threshold-from time",
	};
	struct fragml_dataset ds;
	struct fragml_train_opts o;
	struct fragml_train_result *res = malloc(sizeof(*res));
	struct fragml_err err = { 0 };
	char exe[PATH_MAX], cmd[PATH_MAX * 3 + 256], csv[PATH_MAX + 64];
	uint8_t *part;
	int st;

	ASSERT_NE(NULL, res);
	/* the library refuses the same values itself */
	make_rule_dataset(&ds, 400);
	part = calloc(ds.n_rows, 1);
	ASSERT_NE(NULL, part);
	opts_for(&o, FRAGML_HOOK_LIFETIME);
	o.eta = 0;
	EXPECT_NE(0, fragml_train(&ds, part, &o, res, &err));
	EXPECT_NE(NULL, strstr(fragml_err_msg(&err), "eta")) TH_LOG("%s", fragml_err_msg(&err));
	opts_for(&o, FRAGML_HOOK_LIFETIME);
	o.min_child_weight = -1;
	EXPECT_NE(0, fragml_train(&ds, part, &o, res, &err));
	opts_for(&o, FRAGML_HOOK_THP_FAULT);
	o.kind = FRAGML_TRAIN_ORDINAL3;
	o.compact_precision = 0;
	EXPECT_NE(0, fragml_train(&ds, part, &o, res, &err));

	ASSERT_EQ(0, fragml_dataset_write_csv(&ds, tmp_path("opts.csv"), &err));
	snprintf(csv, sizeof(csv), "%s", tmp_path("opts.csv"));
	tl_bindir(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s/fragml-train --help >/dev/null 2>&1", exe);
	if (system(cmd) != 0)
		SKIP(goto done, "fragml-train not built in %s", exe);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook lifetime --data %s -o %s %s 2>&1 | "
			 "grep -q -- 'expected'", exe, csv, tmp_path("opts.bin"), bad[i]);
		EXPECT_EQ(0, system(cmd)) TH_LOG("%s: no clear refusal", bad[i]);
		snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook lifetime --data %s -o %s %s >/dev/null 2>&1",
			 exe, csv, tmp_path("opts.bin"), bad[i]);
		st = system(cmd);
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) TH_LOG("%s: status %d", bad[i], st);
	}
	/* and good values still train */
	snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook lifetime --data %s -o %s --eta 0.3 --trees 4 "
		 "--max-depth 3 --seed 2 --min-child-weight 0 >/dev/null 2>&1", exe, csv, tmp_path("opts.bin"));
	EXPECT_EQ(0, system(cmd));
done:
	free(part);
	free(res);
	fragml_dataset_free(&ds);
}

/* ---- other labels, the site column, site tables ---- */

#define SITE_A	0x00000000000000aaull	/* every row lived >= T */
#define SITE_B	0x00000000000000bbull	/* none did */
#define SITE_C	0x00000000000000ccull	/* half did */

/* A collector-shaped lifetime CSV: pollutes = order < 10, life_class from row
 * number (empty every 5th row), `label` from the site. Returns the rows with a
 * non-empty life_class >= 2. */
static int write_labelled_csv(const char *path, int rows)
{
	const struct fragml_feature_desc *d;
	FILE *f = fopen(path, "w");
	int lc2 = 0;

	if (!f)
		return -1;
	fputs("ts_ns,workload,hook,class,source", f);
	for (unsigned int i = 0; (d = fragml_feature_at(i)); i++)
		fprintf(f, ",%s", d->name);
	fputs(",label,block_mt,life_ms,pfn,site,life_class,pollutes\n", f);
	seed_state = 9;
	for (int r = 0; r < rows; r++) {
		int order = (int)(rnd() % 32), which = r % 4;
		uint64_t site = which == 0 ? SITE_A : which == 1 ? SITE_B : which == 2 ? SITE_C : 0;
		int label = site == SITE_A || (site == SITE_C && (r / 4) % 2);
		int lc = r % 3;

		fprintf(f, "%d,w%d,lifetime,kernel,s", 1000 * r, r % 4);
		for (unsigned int i = 0; (d = fragml_feature_at(i)); i++) {
			if (d->id == FRAGML_F_ORDER)
				fprintf(f, ",%d", order);
			else if (d->id == FRAGML_F_GFP_BITS)
				fprintf(f, ",%u", rnd() % 8);
			else
				fputs(",", f);
		}
		fprintf(f, ",%d,0,5,1,", label);
		if (site)
			fprintf(f, "%016llx", (unsigned long long)site);
		if (r % 5 == 4)
			fputs(",", f);
		else {
			fprintf(f, ",%d", lc);
			lc2 += lc >= 2;
		}
		fprintf(f, ",%d\n", order < 10);
	}
	fclose(f);
	return lc2;
}

TEST(train_on_other_labels_and_site_table)
{
	char exe[PATH_MAX], cmd[PATH_MAX * 4], csv[PATH_MAX + 64], sites[PATH_MAX + 64], bin[PATH_MAX + 64];
	struct fragml_read_opts ro = { .hook = -1, .label_column = "life_class", .label_min = 2 };
	struct fragml_site_counts t;
	struct fragml_dataset ds;
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_err err = { 0 };
	int lc2, wrong = 0, n = 0;

	ASSERT_NE(NULL, m);
	snprintf(csv, sizeof(csv), "%s", tmp_path("labels.csv"));
	snprintf(sites, sizeof(sites), "%s", tmp_path("labels.sites"));
	snprintf(bin, sizeof(bin), "%s", tmp_path("pollutes.bin"));
	lc2 = write_labelled_csv(csv, 4000);
	ASSERT_GT(lc2, 0);

	/* the reader: life_class >= 2, censored rows dropped, `label` kept as outlived */
	fragml_dataset_init(&ds);
	ASSERT_EQ(0, fragml_dataset_read_csv(&ds, csv, &ro, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(4000 - 4000 / 5, (int)ds.n_rows);
	for (size_t r = 0; r < ds.n_rows; r++)
		n += ds.label[r];
	EXPECT_EQ(lc2, n);
	EXPECT_EQ(SITE_A, ds.site[0]);
	EXPECT_EQ(1, ds.outlived[0]);
	fragml_dataset_free(&ds);
	/* an absent label column and a bad site cell are refused by name */
	ro.label_column = "nosuch";
	fragml_dataset_init(&ds);
	EXPECT_EQ(-EINVAL, fragml_dataset_read_csv(&ds, csv, &ro, &err));
	EXPECT_NE(NULL, strstr(err.msg, "'nosuch'")) TH_LOG("%s", err.msg);
	fragml_dataset_free(&ds);
	{
		char buf[8192];
		int nf = count_features();

		csv_header(buf, sizeof(buf), NULL, NULL);
		buf[strlen(buf) - 1] = '\0';
		strcat(buf, ",site\n");
		csv_row(buf, sizeof(buf), nf, "3");
		buf[strlen(buf) - 1] = '\0';
		strcat(buf, ",xyz\n");
		ASSERT_EQ(-EINVAL, read_csv_text("badsite.csv", buf, &err));
		EXPECT_NE(NULL, strstr(err.msg, "column 'site'")) TH_LOG("%s", err.msg);
	}

	tl_bindir(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s/fragml-train --help >/dev/null 2>&1", exe);
	if (system(cmd) != 0)
		SKIP(goto done, "fragml-train not built in %s", exe);
	/* trains on pollutes (a rule on order) and writes the site table */
	snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook lifetime --data %s -o %s --label pollutes "
		 "--site-table %s --trees 4 --max-depth 3 >/dev/null 2>&1", exe, csv, bin, sites);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, fragml_model_read_file(m, bin, &err)) TH_LOG("%s", err.msg);
	for (int order = 0; order < 32; order++) {
		int32_t x[FRAGML_MAX_FEATURES];

		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			x[k] = FRAGML_MISSING;
		x[FRAGML_F_ORDER] = order;
		x[FRAGML_F_GFP_BITS] = order % 8;
		wrong += fragml_model_eval(m, x, NULL) != (order < 10);
	}
	EXPECT_EQ(0, wrong);
	ASSERT_EQ(0, fragml_site_table_read(sites, &t, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(3, (int)t.n);
	EXPECT_EQ(SITE_A, t.e[0].site);
	EXPECT_EQ(1000u, t.e[0].allocs);
	EXPECT_EQ(1000u, t.e[0].long_cnt);
	EXPECT_EQ(0u, t.e[0].short_cnt);
	EXPECT_EQ(0u, t.e[1].long_cnt);
	EXPECT_EQ(1000u, t.e[1].short_cnt);
	EXPECT_EQ(500u, t.e[2].long_cnt);
	EXPECT_EQ(500u, t.e[2].short_cnt);
	fragml_site_counts_free(&t);
	/* life_class:2 trains too; an unknown label column is refused */
	snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook lifetime --data %s -o %s --label life_class:2 "
		 "--trees 4 --max-depth 3 >/dev/null 2>&1", exe, csv, tmp_path("lc.bin"));
	EXPECT_EQ(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook lifetime --data %s -o %s --label nosuch "
		 "2>&1 | grep -q \"no column 'nosuch'\"", exe, csv, tmp_path("x.bin"));
	EXPECT_EQ(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s/fragml-train -q --hook compaction --data %s -o %s --site-table %s "
		 ">/dev/null 2>&1", exe, csv, tmp_path("x.bin"), tmp_path("x.sites"));
	EXPECT_NE(0, system(cmd));
done:
	free(m);
}

TEST(malformed_site_table_refused)
{
	static const struct { const char *text, *needle; } bad[] = {
		{ "", "empty file" },
		{ "# fragml site lifetime table v2\nsite,allocs,long,short\n", ":1:" },
		{ "# fragml site lifetime table v1\nsite,allocs,long\n", ":2:" },
		{ "# fragml site lifetime table v1\n", "no header" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000a,3,1,2\n", "column 'site'" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000AA,3,1,2\n", "column 'site'" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n0000000000000000,3,1,2\n", "column 'site'" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,x,1,2\n", "column 'allocs'" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,3,01,2\n", "column 'long'" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,3,1,-2\n", "column 'short'" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,3,1,2147483648\n", "column 'short'" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,2,1,2\n", "exceeds allocs" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,2,0,0\n", "no known fate" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,3,1,2,4\n", "expected 4" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,3,1\n", "expected 4" },
		{ "# fragml site lifetime table v1\nsite,allocs,long,short\n00000000000000aa,3,1,2\n"
		  "00000000000000bb,1,1,0\n00000000000000aa,1,0,1\n", "appears twice" },
	};
	struct fragml_site_counts t;
	struct fragml_err err = { 0 };
	const char *path = tmp_path("bad.sites");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i].text);
		EXPECT_NE(0, fragml_site_table_read(path, &t, &err)) TH_LOG("case %zu read", i);
		EXPECT_EQ(0, (int)t.n);
		EXPECT_EQ(NULL, t.e);
		EXPECT_NE(NULL, strstr(err.msg, bad[i].needle)) TH_LOG("case %zu: %s", i, err.msg);
		EXPECT_EQ(NULL, strchr(err.msg, '\n')) TH_LOG("case %zu: not one line", i);
	}
	/* too many sites for the kernel table */
	{
		FILE *f = fopen(path, "w");

		ASSERT_NE(NULL, f);
		fprintf(f, "%s\nsite,allocs,long,short\n", FRAGML_SITE_TABLE_MAGIC);
		for (int i = 1; i <= FRAGML_SITE_TABLE_MAX + 1; i++)
			fprintf(f, "%016x,1,1,0\n", i);
		fclose(f);
		EXPECT_EQ(-E2BIG, fragml_site_table_read(path, &t, &err));
		EXPECT_EQ(0, (int)t.n);
	}
	/* a good one round-trips through the writer */
	write_file(path, "# fragml site lifetime table v1\nsite,allocs,long,short\n"
		   "00000000000000bb,5,1,3\n00000000000000aa,3,1,2\n");
	ASSERT_EQ(0, fragml_site_table_read(path, &t, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(2, (int)t.n);
	EXPECT_EQ(0xaaull, t.e[0].site);
	EXPECT_EQ(0, fragml_site_table_write(tmp_path("rt.sites"), &t, &err));
	fragml_site_counts_free(&t);
	ASSERT_EQ(0, fragml_site_table_read(tmp_path("rt.sites"), &t, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(2, (int)t.n);
	EXPECT_EQ(5u, t.e[1].allocs);
	fragml_site_counts_free(&t);
}

TEST_HARNESS_MAIN
