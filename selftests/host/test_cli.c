// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The operator CLI against the running kernel: `fragml probe` says what the
 * kernel really accepts (checked here with raw BPF_PROG_LOAD calls of our
 * own), `fragml explain` prints tree paths that lead where the reference
 * evaluator goes, `fragml status` names models by the SHA-256 of their file,
 * and every pin fragml leaves is root only.  Loads go to a private bpffs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "kselftest_harness.h"

#include "fragml_dataset.h"
#include "fragml_load.h"
#include "fragml_policy.h"
#include "testlib.h"

static char bindir[512];

static void sh_rm(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return;
}


/* Run cmd, its stdout into a malloc'd buffer; returns the exit status. */
static int capture(const char *cmd, char **out)
{
	size_t cap = 1 << 16, len = 0, n;
	FILE *p = popen(cmd, "r");
	char *buf = malloc(cap);
	int st;

	*out = buf;
	if (!p || !buf)
		return -1;
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb)
				break;
			*out = buf = nb;
		}
	}
	buf[len] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static bool jbool(struct json_object *o, const char *a, const char *b, const char *c)
{
	struct json_object *x = o;

	if (a && !json_object_object_get_ex(x, a, &x))
		return false;
	if (b && !json_object_object_get_ex(x, b, &x))
		return false;
	if (c && !json_object_object_get_ex(x, c, &x))
		return false;
	return json_object_get_boolean(x);
}

/* ---- probe ---- */

/* Our own answer, without libbpf's loader: BPF_PROG_LOAD of "r0 = 0; exit"
 * as a tracing (fentry) or LSM program on a function of the kernel's BTF. */
static int raw_load(enum bpf_prog_type type, enum bpf_attach_type at, const char *func)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct btf *btf = btf__load_vmlinux_btf();
	int id, fd;

	if (!btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);
	btf__free(btf);
	if (id <= 0)
		return -ENOENT;
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = at, .attach_btf_id = (__u32)id);
	fd = bpf_prog_load(type, "probe_check", "Dual BSD/GPL", insns, 2, &o);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

TEST(probe_reports_what_loads)
{
	struct json_object *root, *types, *t;
	char cmd[1024], *out = NULL;
	static const char *const names[] = { "tp_btf", "raw_tp", "tracepoint", "syscall",
					     "struct_ops", "fentry", "lsm" };
	int rc, fentry, lsm, policy;

	if (geteuid())
		SKIP(return, "needs root to load BPF programs");
	snprintf(cmd, sizeof(cmd), "%s/fragml probe --json", bindir);
	rc = capture(cmd, &out);
	root = json_tokener_parse(out);
	ASSERT_NE(NULL, root) TH_LOG("fragml probe --json printed no JSON (exit %d): %.300s", rc, out);
	ASSERT_TRUE(json_object_object_get_ex(root, "program_types", &types));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ASSERT_TRUE(json_object_object_get_ex(types, names[i], &t)) TH_LOG("no %s", names[i]);
	}

	/* fentry and lsm: the probe must say what a raw load says */
	fentry = raw_load(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, "vfs_read");
	lsm = raw_load(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "bpf_lsm_file_open");
	TH_LOG("raw loads here: fentry %s, lsm %s", fentry ? strerror(-fentry) : "ok",
	       lsm ? strerror(-lsm) : "ok");
	if (fentry != -ENOENT)
		ASSERT_EQ(fentry == 0, jbool(types, "fentry", "loads", NULL));
	if (lsm != -ENOENT)
		ASSERT_EQ(lsm == 0, jbool(types, "lsm", "loads", NULL));
	/* a refusal comes with the kernel's reason */
	if (!jbool(types, "fentry", "loads", NULL)) {
		ASSERT_TRUE(json_object_object_get_ex(types, "fentry", &t));
		ASSERT_TRUE(json_object_object_get_ex(t, "reason", &t));
	}
	/* struct_ops: libbpf's feature probe, the kernel knows the type */
	ASSERT_EQ(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_STRUCT_OPS, NULL) == 1,
		  jbool(types, "struct_ops", "loads", NULL));

	/* the hooks and the mode follow from them */
	policy = fragml_policy_supported(NULL);
	ASSERT_EQ(policy == 1, jbool(root, "hooks", "mm_policy_ops", NULL));
	ASSERT_TRUE(jbool(root, "btf", NULL, NULL));
	ASSERT_TRUE(jbool(types, "tp_btf", "attaches", NULL))
		TH_LOG("observe mode needs tp_btf; fragml's own programs are tp_btf");
	ASSERT_TRUE(json_object_object_get_ex(root, "mode", &t));
	ASSERT_STREQ(policy == 1 && jbool(types, "struct_ops", "loads", NULL) ? "enforce" : "observe",
		     json_object_get_string(t));
	ASSERT_EQ(0, rc);
	json_object_put(root);
	free(out);

	/* the text form says the same */
	snprintf(cmd, sizeof(cmd), "%s/fragml probe", bindir);
	ASSERT_EQ(0, capture(cmd, &out));
	ASSERT_NE(NULL, strstr(out, "program types:"));
	ASSERT_NE(NULL, strstr(out, policy == 1 ? "mode: enforce" : "mode: observe")) TH_LOG("%s", out);
	free(out);
}

/* ---- explain ---- */

static const char *feat_name(unsigned int id)
{
	const struct fragml_feature_desc *d = fragml_feature_by_id((int)id);

	return d ? d->name : NULL;
}

/* Check one `fragml explain --json` object against the model and vector. */
static void check_explain(struct __test_metadata *_metadata, const struct fragml_model *m,
			  const int32_t *feat, struct json_object *root)
{
	struct json_object *trees, *t, *path, *step, *v;
	int64_t sums[FRAGML_MAX_ACTIONS];
	struct fragml_eval_out ref;

	fragml_model_eval(m, feat, &ref);
	for (unsigned int a = 0; a < FRAGML_MAX_ACTIONS; a++)
		sums[a] = m->base[a];
	ASSERT_TRUE(json_object_object_get_ex(root, "trees", &trees));
	ASSERT_EQ(m->n_trees, json_object_array_length(trees));
	for (unsigned int i = 0; i < m->n_trees; i++) {
		unsigned int node = m->trees[i].root;
		size_t n;

		t = json_object_array_get_idx(trees, i);
		ASSERT_TRUE(json_object_object_get_ex(t, "path", &path));
		n = json_object_array_length(path);
		/* walk the model along the printed path: every step must be the
		 * node the split rule leads to, with its feature and threshold */
		for (size_t s = 0; s < n; s++) {
			const struct fragml_node *nd = &m->nodes[node];
			unsigned int f = nd->info & FRAGML_NODE_FEAT_MASK;
			bool left;

			step = json_object_array_get_idx(path, s);
			ASSERT_FALSE(nd->info & FRAGML_NODE_LEAF) TH_LOG("tree %u: path goes past a leaf", i);
			json_object_object_get_ex(step, "node", &v);
			ASSERT_EQ(node, (unsigned int)json_object_get_int(v));
			json_object_object_get_ex(step, "feature", &v);
			ASSERT_STREQ(feat_name(f), json_object_get_string(v));
			json_object_object_get_ex(step, "threshold", &v);
			ASSERT_EQ(nd->value, json_object_get_int(v));
			json_object_object_get_ex(step, "value", &v);
			if (feat[f] == FRAGML_MISSING) {
				ASSERT_EQ(NULL, v);
				left = nd->info & FRAGML_NODE_DEFAULT_LEFT;
			} else {
				ASSERT_EQ(feat[f], json_object_get_int(v));
				left = feat[f] < nd->value;
			}
			json_object_object_get_ex(step, "went", &v);
			ASSERT_STREQ(left ? "left" : "right", json_object_get_string(v));
			node = nd->left + (left ? 0u : 1u);
		}
		ASSERT_TRUE(m->nodes[node].info & FRAGML_NODE_LEAF) TH_LOG("tree %u: path stops before a leaf", i);
		json_object_object_get_ex(t, "leaf", &v);
		ASSERT_EQ(node, (unsigned int)json_object_get_int(v));
		json_object_object_get_ex(t, "leaf_value_q16", &v);
		ASSERT_EQ(m->nodes[node].value, json_object_get_int(v));
		sums[m->trees[i].cls] += json_object_get_int(v);
	}
	/* the printed leaves, summed with the base, are the reference evaluator's scores */
	for (unsigned int a = 0; a < m->n_actions; a++) {
		ASSERT_EQ(ref.scores[a], sums[a]) TH_LOG("class %u", a);
	}
	json_object_object_get_ex(root, "score_q16", &v);
	ASSERT_EQ(ref.score, json_object_get_int64(v));
	json_object_object_get_ex(root, "action", &v);
	ASSERT_EQ(ref.action, (uint32_t)json_object_get_int(v));
	ASSERT_TRUE(jbool(root, "agrees", NULL, NULL));
}

static void vector_arg(const int32_t *feat, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int f = 0; f < FRAGML_MAX_FEATURES; f++) {
		if (!feat_name(f))
			continue;
		if (feat[f] == FRAGML_MISSING)
			o += (size_t)snprintf(buf + o, cap - o, "%s%s=missing", o ? "," : "", feat_name(f));
		else
			o += (size_t)snprintf(buf + o, cap - o, "%s%s=%d", o ? "," : "", feat_name(f), feat[f]);
	}
}

TEST(explain_path_matches_reference)
{
	static const unsigned int hooks[] = { FRAGML_HOOK_LIFETIME, FRAGML_HOOK_THP_FAULT,
					      FRAGML_HOOK_COMPACTION, FRAGML_HOOK_FALLBACK };
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_vec vecs[8];
	char path[] = "/tmp/fragml-explain-XXXXXX", model[600], vec[4096], cmd[6000], *out;
	struct fragml_err err = { 0 };
	uint64_t seed = 7;

	ASSERT_NE(NULL, mkdtemp(path));
	snprintf(model, sizeof(model), "%s/m.bin", path);
	for (unsigned int k = 0; k < 8; k++) {
		unsigned int hook = hooks[k % 4];

		tl_random_model(m, hook, 6, 5, k & 1, 100 + k);
		ASSERT_EQ(0, fragml_model_write_file(m, model, &err)) TH_LOG("%s", err.msg);
		tl_random_vecs(m, vecs, 8, &seed);
		for (unsigned int i = 0; i < 8; i++) {
			struct json_object *root;
			int rc;

			vector_arg(vecs[i].f, vec, sizeof(vec));
			snprintf(cmd, sizeof(cmd), "%s/fragml explain %s --json --vector '%s'", bindir, model, vec);
			rc = capture(cmd, &out);
			root = json_tokener_parse(out);
			ASSERT_NE(NULL, root) TH_LOG("no JSON (exit %d) from %s", rc, cmd);
			ASSERT_EQ(0, rc);
			check_explain(_metadata, m, vecs[i].f, root);
			json_object_put(root);
			free(out);
		}
	}
	/* the text form ends with the evaluator's verdict */
	snprintf(cmd, sizeof(cmd), "%s/fragml explain %s --vector order=9", bindir, model);
	ASSERT_EQ(0, capture(cmd, &out));
	ASSERT_NE(NULL, strstr(out, "reference evaluator: action")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, ": agrees"));
	free(out);
	unlink(model);
	rmdir(path);
	free(m);
}

/* A dataset row: the N-th row of the model's hook, skipping other hooks' rows. */
TEST(explain_csv_row)
{
	struct fragml_model *m = malloc(sizeof(*m));
	char dir[] = "/tmp/fragml-explain-XXXXXX", model[600], csv[600], cmd[2000], *out;
	struct fragml_err err = { 0 };
	struct fragml_dataset ds;
	struct fragml_vec vecs[4];
	struct json_object *root;
	uint64_t seed = 3;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(model, sizeof(model), "%s/m.bin", dir);
	snprintf(csv, sizeof(csv), "%s/d.csv", dir);
	tl_random_model(m, FRAGML_HOOK_THP_FAULT, 8, 4, 1, 5);
	ASSERT_EQ(0, fragml_model_write_file(m, model, &err)) TH_LOG("%s", err.msg);
	tl_random_vecs(m, vecs, 4, &seed);
	for (unsigned int i = 0; i < 4; i++)	/* what a dataset may hold */
		for (unsigned int f = 0; f < FRAGML_MAX_FEATURES; f++)
			if (vecs[i].f[f] != FRAGML_MISSING && (vecs[i].f[f] > FRAGML_FEAT_MAX ||
							       vecs[i].f[f] < FRAGML_FEAT_MIN))
				vecs[i].f[f] = vecs[i].f[f] > 0 ? FRAGML_FEAT_MAX : FRAGML_FEAT_MIN;
	fragml_dataset_init(&ds);
	/* rows: thp 0, compaction, thp 1, thp 2 -> --row 3 is vecs[2] */
	ASSERT_EQ(0, fragml_dataset_add_row(&ds, 1, "w", FRAGML_HOOK_THP_FAULT, 0, "s", vecs[0].f, 0, &err));
	ASSERT_EQ(0, fragml_dataset_add_row(&ds, 2, "w", FRAGML_HOOK_COMPACTION, 0, "s", vecs[3].f, 0, &err));
	ASSERT_EQ(0, fragml_dataset_add_row(&ds, 3, "w", FRAGML_HOOK_THP_FAULT, 0, "s", vecs[1].f, 1, &err));
	ASSERT_EQ(0, fragml_dataset_add_row(&ds, 4, "w", FRAGML_HOOK_THP_FAULT, 0, "s", vecs[2].f, 2, &err));
	ASSERT_EQ(0, fragml_dataset_write_csv(&ds, csv, &err)) TH_LOG("%s", err.msg);
	fragml_dataset_free(&ds);
	snprintf(cmd, sizeof(cmd), "%s/fragml explain %s --csv %s --row 3 --json", bindir, model, csv);
	ASSERT_EQ(0, capture(cmd, &out)) TH_LOG("%s", out);
	root = json_tokener_parse(out);
	ASSERT_NE(NULL, root);
	check_explain(_metadata, m, vecs[2].f, root);
	json_object_put(root);
	free(out);
	/* past the end: a one-line error naming the row count */
	snprintf(cmd, sizeof(cmd), "%s/fragml explain %s --csv %s --row 4 2>&1", bindir, model, csv);
	ASSERT_EQ(2, capture(cmd, &out));
	ASSERT_NE(NULL, strstr(out, "has 3 such rows")) TH_LOG("%s", out);
	free(out);
	unlink(model);
	unlink(csv);
	rmdir(dir);
	free(m);
}

/* ---- status: SHA-256; pins: root only ---- */

static int loose_mode;
static char loose_path[512];

static int check_mode(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (st->st_mode & 077) {
		loose_mode = (int)(st->st_mode & 07777);
		snprintf(loose_path, sizeof(loose_path), "%s", p);
		return 1;
	}
	return 0;
}

TEST(status_sha256_and_root_only_pins)
{
	char bpffs[64], model[600], sha[FRAGML_SHA256_HEX], cmd[1200], *out, *buf;
	struct fragml_open_opts oo = { 0 };
	struct fragml_hook_status st;
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	struct json_object *root, *v;
	struct fragml_model *m = malloc(sizeof(*m));
	uint32_t version;
	mode_t old;
	FILE *f;
	long len;

	if (geteuid())
		SKIP(return, "needs root to load BPF programs");
	snprintf(model, sizeof(model), "%s/../../model/defaults/compaction.bin", bindir);
	f = fopen(model, "rb");
	if (!f)
		SKIP(return, "no %s", model);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	ASSERT_EQ((size_t)len, fread(buf, 1, (size_t)len, f));
	fclose(f);
	ASSERT_EQ(0, fragml_sha256_hex(buf, (size_t)len, sha));	/* of the file's bytes */
	free(buf);

	ASSERT_EQ(0, tl_private_bpffs(bpffs, sizeof(bpffs)));
	/* a permissive umask must not leak into the pins */
	old = umask(0);
	oo.bpffs = bpffs;
	oo.install = true;
	oo.no_observe = true;
	ASSERT_EQ(0, fragml_open(&h, &oo, NULL, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, fragml_model_read_file(m, model, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, fragml_publish(h, m, &version, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, fragml_publish(h, m, &version, &err)) TH_LOG("%s", err.msg);	/* a _prev too */
	umask(old);
	ASSERT_EQ(0, fragml_status(h, FRAGML_HOOK_COMPACTION, &st, &err)) TH_LOG("%s", err.msg);
	ASSERT_STREQ(sha, st.sha256);
	fragml_close(h);

	/* status --json and text name it too */
	snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml status --json", bpffs, bindir);
	ASSERT_EQ(0, capture(cmd, &out));
	root = json_tokener_parse(out);
	ASSERT_NE(NULL, root) TH_LOG("%.300s", out);
	ASSERT_TRUE(json_object_object_get_ex(root, "hooks", &v));
	ASSERT_TRUE(json_object_object_get_ex(v, "compaction", &v));
	ASSERT_TRUE(json_object_object_get_ex(v, "sha256", &v));
	ASSERT_STREQ(sha, json_object_get_string(v));
	json_object_put(root);
	free(out);
	snprintf(cmd, sizeof(cmd), "FRAGML_BPFFS=%s %s/fragml status", bpffs, bindir);
	ASSERT_EQ(0, capture(cmd, &out));
	ASSERT_NE(NULL, strstr(out, sha)) TH_LOG("%s", out);
	free(out);

	/* every pin and directory under the pin root: no group/other bits */
	snprintf(cmd, sizeof(cmd), "%s/fragml", bpffs);
	loose_mode = 0;
	nftw(cmd, check_mode, 8, FTW_PHYS);
	EXPECT_EQ(0, loose_mode) TH_LOG("%s has mode %o", loose_path, loose_mode);
	tl_release_bpffs(bpffs);
	free(m);
}

/* ---- daemon: config errors name file:line and key; status shows a trip ---- */

/* Write a file from a format; 0 or -1. */
static int put(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	if (!f)
		return -1;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	return fclose(f);
}

TEST(daemon_config_and_watchdog_status)
{
	char dir[] = "/tmp/fragml-wd.XXXXXX", cmd[1600], bpffs[64], conf[600], *out;
	struct fragml_open_opts oo = { 0 };
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	struct json_object *root, *v;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/bad.conf", dir);
	ASSERT_EQ(0, put(conf, "[watchdog]\ninterval = 5\nmax_thp_mis = 0.5\n"));
	snprintf(cmd, sizeof(cmd), "%s/fragml daemon --check --config %s 2>&1", bindir, conf);
	EXPECT_EQ(1, capture(cmd, &out));
	EXPECT_NE(NULL, strstr(out, "bad.conf:3: [watchdog] max_thp_mis: unknown key")) TH_LOG("%s", out);
	EXPECT_EQ(1, (int)(strchr(out, '\n') - out + 1 == (long)strlen(out))) TH_LOG("not one line: %s", out);
	free(out);
	ASSERT_EQ(0, put(conf, "[models]\ncompaction = %s/../../model/defaults/compaction.bin\n[watchdog]\nconsecutive = -1\n",
		bindir));
	EXPECT_EQ(1, capture(cmd, &out));
	EXPECT_NE(NULL, strstr(out, "bad.conf:4: [watchdog] consecutive = '-1': want intervals")) TH_LOG("%s", out);
	free(out);
	ASSERT_EQ(0, put(conf, "[models]\nthp_fault = %s/../../model/defaults/compaction.bin\n", bindir));
	EXPECT_EQ(1, capture(cmd, &out));
	EXPECT_NE(NULL, strstr(out, "a compaction model, configured for thp_fault")) TH_LOG("%s", out);
	free(out);
	ASSERT_EQ(0, put(conf, "# ok\n[models]\ncompaction = %s/../../model/defaults/compaction.bin  # live\n"
		"[scope]\ncgroup = /sys/fs/cgroup/a\n[watchdog]\nmax_psi_some = 40\n", bindir));
	snprintf(cmd, sizeof(cmd), "%s/fragml daemon --check --json --config %s", bindir, conf);
	ASSERT_EQ(0, capture(cmd, &out));
	root = json_tokener_parse(out);
	ASSERT_NE(NULL, root) TH_LOG("%s", out);
	EXPECT_TRUE(json_object_object_get_ex(root, "models", &v) &&
		    json_object_object_get_ex(v, "compaction", &v));
	json_object_put(root);
	free(out);

	/* a trip, as the daemon records it: fragml status shows it */
	if (geteuid())
		SKIP(return, "needs root to load BPF programs");
	snprintf(conf, sizeof(conf), "%s/watchdog.json", dir);
	ASSERT_EQ(0, put(conf, "{ \"state\": \"detached\", \"pid\": 1, \"since\": \"2026-01-01T00:00:00Z\", "
		"\"reason\": \"thp_miss 0.9 fraction > limit 0.5 for 3 intervals of 10 s\", "
		"\"at\": \"2026-01-01T00:01:00Z\" }\n"));
	ASSERT_EQ(0, tl_private_bpffs(bpffs, sizeof(bpffs)));
	oo.bpffs = bpffs;
	oo.install = true;
	oo.no_observe = true;
	ASSERT_EQ(0, fragml_open(&h, &oo, NULL, &err)) TH_LOG("%s", fragml_err_msg(&err));
	fragml_close(h);
	snprintf(cmd, sizeof(cmd), "FRAGML_RUN_DIR=%s FRAGML_BPFFS=%s %s/fragml status", dir, bpffs, bindir);
	EXPECT_EQ(0, capture(cmd, &out));
	EXPECT_NE(NULL, strstr(out, "watchdog: detached by watchdog: thp_miss 0.9 fraction > limit 0.5 for 3 intervals of 10 s at 2026-01-01T00:01:00Z"))
		TH_LOG("%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "FRAGML_RUN_DIR=%s FRAGML_BPFFS=%s %s/fragml status --json", dir, bpffs, bindir);
	EXPECT_EQ(0, capture(cmd, &out));
	root = json_tokener_parse(out);
	ASSERT_NE(NULL, root) TH_LOG("%.300s", out);
	EXPECT_TRUE(json_object_object_get_ex(root, "watchdog", &v) &&
		    json_object_object_get_ex(v, "state", &v) && !strcmp(json_object_get_string(v), "detached"));
	json_object_put(root);
	free(out);
	snprintf(cmd, sizeof(cmd), "FRAGML_RUN_DIR=%s %s/fragml daemon --status", dir, bindir);
	EXPECT_EQ(0, capture(cmd, &out));
	EXPECT_NE(NULL, strstr(out, "detached by watchdog")) TH_LOG("%s", out);
	free(out);
	tl_release_bpffs(bpffs);
	sh_rm(dir);
}

int main(int argc, char **argv)
{
	tl_bindir(bindir, sizeof(bindir));
	return test_harness_run(argc, argv);
}
