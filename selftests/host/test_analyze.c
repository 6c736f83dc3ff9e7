// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fragml analyze` and the analysis stage (trainer/fragml_analyze.h) on
 * datasets whose answer is known:
 *   - label balance, per-class and per-source counts, feature statistics;
 *   - drift: a shifted feature is flagged, the others and an identical copy are not;
 *   - the command: text/JSON report, gnuplot figures, --fail-on-drift, and
 *     clear errors (file, line, column) for bad CSV.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kselftest_harness.h"

#include "fragml_analyze.h"
#include "fragml_features.h"
#include "testlib.h"

static char fragml_bin[600];

static void find_bin(void)
{
	char bin[512];

	tl_bindir(bin, sizeof(bin));
	snprintf(fragml_bin, sizeof(fragml_bin), "%s/fragml", bin);
}

/*
 * 1000 lifetime rows: 300 long-lived (label 1) pipe rows of source "pipes",
 * 700 short-lived slab rows of source "slab:dentry".  order is 0 or 1 from the
 * same stream in both datasets; task_alloc_rate is ~100..199, or 1000..1999
 * when `shift_rate`.  `seed` changes the draw, not the distribution.
 */
static void make_dataset(struct fragml_dataset *ds, uint64_t seed, int shift_rate)
{
	int32_t f[FRAGML_MAX_FEATURES];

	fragml_dataset_init(ds);
	for (int i = 0; i < 1000; i++) {
		int pos = i % 10 < 3;

		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			f[k] = FRAGML_MISSING;
		f[FRAGML_F_ORDER] = (int32_t)(tl_rand(&seed) & 1);
		f[FRAGML_F_MIGRATETYPE] = 0;
		f[FRAGML_F_ALLOC_CLASS] = pos ? FRAGML_CLASS_PIPE : FRAGML_CLASS_SLAB;
		f[FRAGML_F_GFP_BITS] = 0xcc0;
		f[FRAGML_F_IS_KTHREAD] = 0;
		f[FRAGML_F_TASK_ALLOC_RATE] = (shift_rate ? 1000 : 100) +
					       (int32_t)(tl_rand(&seed) % (shift_rate ? 1000 : 100));
		f[FRAGML_F_EXTFRAG_RATE] = (int32_t)(tl_rand(&seed) % 50);
		f[FRAGML_F_TASK_LONG_PPK] = pos ? 900 : 100;
		fragml_dataset_add_row(ds, 1000 + (uint64_t)i, "selftest", FRAGML_HOOK_LIFETIME,
				       pos ? FRAGML_CLASS_PIPE : FRAGML_CLASS_SLAB,
				       pos ? "pipes" : "slab:dentry", f, (unsigned int)pos, NULL);
	}
}

static const struct fragml_feature_drift *drift_of(const struct fragml_drift *d, const char *name)
{
	for (unsigned int k = 0; k < d->n_features; k++)
		if (!strcmp(d->feat[k].name, name))
			return &d->feat[k];
	return NULL;
}

static const struct fragml_feature_summary *summary_of(const struct fragml_analysis *a,
						       const char *name)
{
	for (unsigned int k = 0; k < a->n_features; k++)
		if (!strcmp(a->feat[k].name, name))
			return &a->feat[k];
	return NULL;
}

TEST(label_balance_and_summaries)
{
	struct fragml_dataset ds;
	struct fragml_analysis a;
	struct fragml_err err = { 0 };
	const struct fragml_feature_summary *s;

	make_dataset(&ds, 1, 0);
	ASSERT_EQ(1000, ds.n_rows);
	ASSERT_EQ(0, fragml_analyze(&ds, -1, &a, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(FRAGML_HOOK_LIFETIME, a.hook);
	EXPECT_EQ(1000, a.rows);
	EXPECT_EQ(2, a.n_labels);
	EXPECT_EQ(700, a.label_rows[0]);
	EXPECT_EQ(300, a.label_rows[1]);
	/* groups sorted by rows: the slab source first, all negative */
	ASSERT_EQ(2, a.n_sources);
	EXPECT_STREQ("slab:dentry", a.sources[0].name);
	EXPECT_EQ(700, a.sources[0].rows);
	EXPECT_EQ(0, a.sources[0].positives);
	EXPECT_STREQ("pipes", a.sources[1].name);
	EXPECT_EQ(300, a.sources[1].positives);
	ASSERT_EQ(2, a.n_classes);
	EXPECT_STREQ("slab", a.classes[0].name);
	EXPECT_STREQ("pipe", a.classes[1].name);
	s = summary_of(&a, "task_long_ppk");
	ASSERT_NE(NULL, s);
	EXPECT_EQ(1000, s->present);
	EXPECT_EQ(100, s->min);
	EXPECT_EQ(900, s->max);
	EXPECT_EQ(100, s->mean_label[0]);
	EXPECT_EQ(900, s->mean_label[1]);
	EXPECT_TRUE(s->mean > 339.9 && s->mean < 340.1) TH_LOG("mean %f", s->mean);
	/* computed at no hook (docs/features.md): not summarised */
	EXPECT_EQ(NULL, summary_of(&a, "slab_obj_log2"));
	/* a hook without rows is refused, not summarised as empty */
	EXPECT_EQ(-ENODATA, fragml_analyze(&ds, FRAGML_HOOK_COMPACTION, &a, &err));
	EXPECT_NE(NULL, strstr(err.msg, "compaction"));
	fragml_dataset_free(&ds);
}

TEST(drift_detected_and_not_invented)
{
	struct fragml_dataset a, a2, b;
	struct fragml_drift d;
	struct fragml_err err = { 0 };
	const struct fragml_feature_drift *f;

	make_dataset(&a, 1, 0);
	make_dataset(&a2, 2, 0);	/* same distribution, other draw */
	make_dataset(&b, 3, 1);		/* task_alloc_rate shifted x10 */

	ASSERT_EQ(0, fragml_drift_compute(&a, &a, -1, NULL, &d, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, d.n_drifted);
	for (unsigned int k = 0; k < d.n_features; k++) {
		EXPECT_EQ(0, d.feat[k].ks) TH_LOG("%s", d.feat[k].name);
		EXPECT_TRUE(d.feat[k].psi < 1e-9) TH_LOG("%s psi %f", d.feat[k].name, d.feat[k].psi);
	}

	ASSERT_EQ(0, fragml_drift_compute(&a, &a2, -1, NULL, &d, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, d.n_drifted);
	for (unsigned int k = 0; k < d.n_features; k++) {
		EXPECT_FALSE(d.feat[k].drifted) TH_LOG("%s psi %.3f ks %.3f", d.feat[k].name,
							d.feat[k].psi, d.feat[k].ks);
	}

	ASSERT_EQ(0, fragml_drift_compute(&a, &b, -1, NULL, &d, &err)) TH_LOG("%s", err.msg);
	f = drift_of(&d, "task_alloc_rate");
	ASSERT_NE(NULL, f);
	EXPECT_TRUE(f->drifted);
	EXPECT_TRUE(f->psi > 1.0) TH_LOG("psi %f", f->psi);
	EXPECT_EQ(1.0, f->ks);	/* disjoint ranges */
	EXPECT_EQ(1, d.n_drifted);
	f = drift_of(&d, "order");
	ASSERT_NE(NULL, f);
	EXPECT_FALSE(f->drifted);
	fragml_dataset_free(&a);
	fragml_dataset_free(&a2);
	fragml_dataset_free(&b);
}

static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int st;

	if (!p)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

FIXTURE(cmd) {
	char dir[64];
	char a[128], b[128];
};

FIXTURE_SETUP(cmd)
{
	struct fragml_dataset a, b;
	struct fragml_err err = { 0 };

	find_bin();
	if (access(fragml_bin, X_OK))
		SKIP(return, "%s not built: run make", fragml_bin);
	snprintf(self->dir, sizeof(self->dir), "/tmp/fragml-analyze-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->a, sizeof(self->a), "%s/a.csv", self->dir);
	snprintf(self->b, sizeof(self->b), "%s/b.csv", self->dir);
	make_dataset(&a, 1, 0);
	make_dataset(&b, 3, 1);
	ASSERT_EQ(0, fragml_dataset_write_csv(&a, self->a, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, fragml_dataset_write_csv(&b, self->b, &err)) TH_LOG("%s", err.msg);
	fragml_dataset_free(&a);
	fragml_dataset_free(&b);
}

FIXTURE_TEARDOWN(cmd)
{
	char cmd[256];

	if (self->dir[0] && strstr(self->dir, "/tmp/fragml-analyze-")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
		if (system(cmd))
			TH_LOG("could not remove %s", self->dir);
	}
}

TEST_F(cmd, report_json_and_figures)
{
	char cmd[1024], out[65536], path[256];
	struct json_object *root, *labels, *drift, *l1, *v;
	bool have_gnuplot = !system("command -v gnuplot >/dev/null 2>&1");

	snprintf(cmd, sizeof(cmd), "%s analyze --json --out %s/fig %s %s 2>/dev/null", fragml_bin,
		 self->dir, self->a, self->b);
	ASSERT_EQ(0, run(cmd, out, sizeof(out)));
	root = json_tokener_parse(out);
	ASSERT_NE(NULL, root) TH_LOG("not JSON: %.200s", out);
	ASSERT_TRUE(json_object_object_get_ex(root, "labels", &labels));
	ASSERT_EQ(2, json_object_array_length(labels));
	l1 = json_object_array_get_idx(labels, 1);
	ASSERT_TRUE(json_object_object_get_ex(l1, "rows", &v));
	EXPECT_EQ(300, json_object_get_int(v));
	ASSERT_TRUE(json_object_object_get_ex(root, "drift", &drift));
	ASSERT_TRUE(json_object_object_get_ex(drift, "features_drifted", &v));
	EXPECT_EQ(1, json_object_get_int(v));
	json_object_put(root);

	for (const char *const *n = (const char *const[]){ "labels", "sources", "features", "drift", NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/fig/%s.gp", self->dir, *n);
		EXPECT_EQ(0, access(path, R_OK)) TH_LOG("no %s", path);
		snprintf(path, sizeof(path), "%s/fig/%s.png", self->dir, *n);
		if (have_gnuplot)
			EXPECT_EQ(0, access(path, R_OK)) TH_LOG("no %s", path);
	}

	/* --fail-on-drift: 3 on drift, 0 for identical datasets */
	snprintf(cmd, sizeof(cmd), "%s analyze --no-plots --fail-on-drift %s %s 2>&1", fragml_bin,
		 self->a, self->b);
	EXPECT_EQ(3, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "task_alloc_rate")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "drift: 1 of"));
	snprintf(cmd, sizeof(cmd), "%s analyze --no-plots --fail-on-drift %s %s 2>&1", fragml_bin,
		 self->a, self->a);
	EXPECT_EQ(0, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "drift: 0 of"));
	EXPECT_NE(NULL, strstr(out, "label 1 long")) TH_LOG("%s", out);
	if (!have_gnuplot)
		SKIP(return, "gnuplot not installed: scripts checked, PNGs not");
}

TEST_F(cmd, bad_csv_is_refused_clearly)
{
	char cmd[1024], out[4096], bad[200];
	FILE *f;

	/* a header without the required columns */
	snprintf(bad, sizeof(bad), "%s/bad.csv", self->dir);
	f = fopen(bad, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "ts_ns,workload\n1,x\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s analyze --no-plots %s 2>&1", fragml_bin, bad);
	EXPECT_EQ(1, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, bad)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "missing column")) TH_LOG("%s", out);

	/* a good header and a non-numeric cell on line 3 */
	snprintf(cmd, sizeof(cmd), "(head -2 %s; head -3 %s | tail -1 | sed 's/,selftest,lifetime,pipe,pipes,[0-9]*/,selftest,lifetime,pipe,pipes,abc/') > %s",
		 self->a, self->a, bad);
	ASSERT_EQ(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s analyze --no-plots %s 2>&1", fragml_bin, bad);
	EXPECT_EQ(1, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "bad.csv:3:")) TH_LOG("%s", out);	/* file:line */
	EXPECT_NE(NULL, strstr(out, "'order'")) TH_LOG("%s", out);		/* column */

	/* a missing file and a bad option */
	snprintf(cmd, sizeof(cmd), "%s analyze %s/none.csv 2>&1", fragml_bin, self->dir);
	EXPECT_EQ(1, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "none.csv")) TH_LOG("%s", out);
	snprintf(cmd, sizeof(cmd), "%s analyze --hook nosuch %s 2>&1", fragml_bin, self->a);
	EXPECT_EQ(2, run(cmd, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "nosuch"));
}

/* Names with bytes that are not UTF-8 (a fuzz finding): --json stays valid
 * UTF-8, each such byte printed as U+FFFD. */
TEST_F(cmd, json_is_utf8)
{
	char cmd[1024], out[65536], path[256], *clean;
	struct fragml_dataset ds;
	struct fragml_err err = { 0 };
	int32_t f[FRAGML_MAX_FEATURES];

	fragml_dataset_init(&ds);
	for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
		f[k] = FRAGML_MISSING;
	for (int i = 0; i < 20; i++)
		ASSERT_EQ(0, fragml_dataset_add_row(&ds, (uint64_t)i, i & 1 ? "w\xff\xfe" : "w\xc3\xa9",
						    FRAGML_HOOK_LIFETIME, FRAGML_CLASS_PIPE,
						    i & 1 ? "src\xc3" : "src\xe2\x82\xac", f,
						    (unsigned int)(i & 1), &err)) TH_LOG("%s", err.msg);
	snprintf(path, sizeof(path), "%s/bytes.csv", self->dir);
	ASSERT_EQ(0, fragml_dataset_write_csv(&ds, path, &err)) TH_LOG("%s", err.msg);
	fragml_dataset_free(&ds);
	snprintf(cmd, sizeof(cmd), "%s analyze --json --out %s/fig2 %s 2>/dev/null", fragml_bin, self->dir, path);
	ASSERT_EQ(0, run(cmd, out, sizeof(out)));
	clean = malloc(sizeof(out) * 3);
	ASSERT_NE(NULL, clean);
	fragml_utf8_clean(clean, sizeof(out) * 3, out);
	EXPECT_STREQ(out, clean);
	free(clean);
	EXPECT_NE(NULL, strstr(out, "w\xef\xbf\xbd\xef\xbf\xbd")) TH_LOG("%.400s", out);
	EXPECT_NE(NULL, strstr(out, "w\xc3\xa9")) TH_LOG("%.400s", out);
	EXPECT_NE(NULL, strstr(out, "src\xe2\x82\xac")) TH_LOG("%.400s", out);
	clean = (char *)json_tokener_parse(out);
	EXPECT_NE(NULL, clean);
	json_object_put((struct json_object *)clean);
}

TEST_HARNESS_MAIN
