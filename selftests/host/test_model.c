// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* model/ library selftests: format round trip, evaluator semantics, registry vs docs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "fragml_model.h"
#include "testlib.h"

TEST(roundtrip_is_byte_exact)
{
	struct fragml_model *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	static uint8_t buf1[70000], buf2[70000];
	struct fragml_err err = { 0 };
	int n1, n2;

	tl_random_model(a, FRAGML_HOOK_THP_FAULT, 32, 6, 1, 9);
	n1 = fragml_model_serialize(a, buf1, sizeof(buf1), &err);
	ASSERT_LT(0, n1) TH_LOG("%s", err.msg);
	ASSERT_EQ(96 + 4 * 32 + 8 * (32 * 127), n1);
	ASSERT_EQ(0, fragml_model_parse(b, buf1, (size_t)n1, "buf", &err)) TH_LOG("%s", err.msg);
	n2 = fragml_model_serialize(b, buf2, sizeof(buf2), &err);
	ASSERT_EQ(n1, n2);
	ASSERT_EQ(0, memcmp(buf1, buf2, (size_t)n1));
	ASSERT_EQ(6, b->max_depth);
	free(a);
	free(b);
}

/* x < t goes left; x == t goes right; missing follows the default direction. */
/* One tree of one split (node info `info`, threshold `value`) and two leaves. */
static void one_split(struct fragml_model *m, unsigned int hook, unsigned int info, int32_t value)
{
	m->hook = hook;
	m->output = FRAGML_OUT_ORDINAL;
	m->n_actions = 2;
	m->schema = FRAGML_SCHEMA_VERSION;
	m->n_trees = 1;
	m->n_nodes = 3;
	m->nodes[0] = (struct fragml_node){ .info = (uint16_t)info, .left = 1, .value = value };
	m->nodes[1] = (struct fragml_node){ .info = FRAGML_NODE_LEAF, .value = -65536 };
	m->nodes[2] = (struct fragml_node){ .info = FRAGML_NODE_LEAF, .value = 65536 };
}

TEST(split_rule_and_missing)
{
	struct fragml_model m = { 0 };
	struct fragml_err err = { 0 };
	int32_t f[FRAGML_MAX_FEATURES];

	one_split(&m, FRAGML_HOOK_COMPACTION, FRAGML_F_ORDER | FRAGML_NODE_DEFAULT_LEFT, 9);
	ASSERT_EQ(0, fragml_model_validate(&m, "m", &err)) TH_LOG("%s", err.msg);
	for (int i = 0; i < FRAGML_MAX_FEATURES; i++)
		f[i] = FRAGML_MISSING;
	f[FRAGML_F_ORDER] = 8;
	ASSERT_EQ(FRAGML_COMPACT_SKIP, fragml_model_eval(&m, f, NULL));
	f[FRAGML_F_ORDER] = 9;
	ASSERT_EQ(FRAGML_COMPACT_RUN, fragml_model_eval(&m, f, NULL));
	f[FRAGML_F_ORDER] = FRAGML_MISSING;
	ASSERT_EQ(FRAGML_COMPACT_SKIP, fragml_model_eval(&m, f, NULL));
	m.nodes[0].info &= (uint16_t)~FRAGML_NODE_DEFAULT_LEFT;
	ASSERT_EQ(FRAGML_COMPACT_RUN, fragml_model_eval(&m, f, NULL));
}

TEST(fixed_point)
{
	ASSERT_EQ(65536, fragml_fixed_from_double(1.0));
	ASSERT_EQ(-32768, fragml_fixed_from_double(-0.5));
	ASSERT_EQ(FRAGML_LEAF_MAX, fragml_fixed_from_double(1e12));
	ASSERT_EQ(1, fragml_fixed_from_double(1.0 / 65536));
}

/* docs/features.md lists exactly the registry: id, name, unit, scale, hooks. */
/* A model splitting on one feature at one hook; its mode check's verdict. */
static int check_split(unsigned int hook, int feat, unsigned int mode, struct fragml_err *err)
{
	struct fragml_model m = { 0 };

	one_split(&m, hook, feat, 1);
	err->code = 0;
	err->msg[0] = '\0';
	return fragml_model_check_mode(&m, mode, err);
}

/* The loader's rule: a split on a feature the deciding program does not
 * compute in the running mode is refused, and the message names it. */
TEST(mode_check_names_the_feature)
{
	struct fragml_err err = { 0 };

	/* gfp_bits at a THP fault: only the enforcing policy knows the flags */
	EXPECT_EQ(0, check_split(FRAGML_HOOK_THP_FAULT, FRAGML_F_GFP_BITS, FRAGML_MODE_ENFORCE, &err));
	EXPECT_NE(0, check_split(FRAGML_HOOK_THP_FAULT, FRAGML_F_GFP_BITS, FRAGML_MODE_OBSERVE, &err));
	EXPECT_NE(NULL, strstr(err.msg, "gfp_bits")) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "only in enforce mode")) TH_LOG("%s", err.msg);
	/* the rate features are computed in both modes now (shared state) */
	EXPECT_EQ(0, check_split(FRAGML_HOOK_COMPACTION, FRAGML_F_COMPACT_FAIL_PPK, FRAGML_MODE_ENFORCE, &err))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(0, check_split(FRAGML_HOOK_THP_FAULT, FRAGML_F_TASK_DENSITY_PPK, FRAGML_MODE_ENFORCE, &err))
		TH_LOG("%s", err.msg);
	/* a lifetime model is evaluated by the observe programs in both modes */
	EXPECT_EQ(0, check_split(FRAGML_HOOK_LIFETIME, FRAGML_F_ALLOC_CLASS, FRAGML_MODE_ENFORCE, &err))
		TH_LOG("%s", err.msg);
	/* computed nowhere */
	EXPECT_NE(0, check_split(FRAGML_HOOK_LIFETIME, FRAGML_F_SLAB_OBJ_LOG2, FRAGML_MODE_OBSERVE, &err));
	EXPECT_NE(NULL, strstr(err.msg, "slab_obj_log2")) TH_LOG("%s", err.msg);
	/* fallback is not evaluated in observe mode at all */
	EXPECT_NE(0, check_split(FRAGML_HOOK_FALLBACK, FRAGML_F_ATOMIC, FRAGML_MODE_OBSERVE, &err));
	EXPECT_NE(NULL, strstr(err.msg, "enforce mode")) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, check_split(FRAGML_HOOK_FALLBACK, FRAGML_F_ATOMIC, FRAGML_MODE_ENFORCE, &err));
	/* every feature the observe side computes at thp_fault/compaction, the
	 * policy computes too: a model published in observe mode keeps its
	 * inputs when the policy attaches */
	for (unsigned int i = 0; fragml_feature_at(i); i++) {
		const struct fragml_feature_desc *d = fragml_feature_at(i);

		EXPECT_EQ(0u, d->obs & (FRAGML_H_THP | FRAGML_H_CMP) & ~d->enf) TH_LOG("feature %s", d->name);
	}
}

/* fragml_error.h: one line whatever the input; a long message keeps its
 * start and its reason; fragml_err_clear() for a caller reusing the struct. */
TEST(error_message_one_line)
{
	struct fragml_err err = { 0 };
	char name[2 * FRAGML_ERR_MSG_MAX];

	EXPECT_EQ(-ENOENT, fragml_err_set(&err, ENOENT, "%s: missing", "a\nb"));
	EXPECT_STREQ("a\\nb: missing", err.msg);
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	fragml_err_set(&err, -EINVAL, "model %s: bad magic", name);
	EXPECT_GT((size_t)FRAGML_ERR_MSG_MAX, strlen(err.msg));
	EXPECT_EQ(0, strncmp(err.msg, "model xxx", 9)) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "...")) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "x: bad magic")) TH_LOG("%s", err.msg);
	fragml_err_clear(&err);
	EXPECT_EQ(0, err.code);
	EXPECT_STREQ("", err.msg);
	EXPECT_STREQ(strerror(0), fragml_err_msg(&err));
}

/* FRAGML_HOOK_LIST, in messages and help texts, names every hook in id order */
TEST(hook_list_names_every_hook)
{
	char list[256] = "";

	for (unsigned int h = 0; h < FRAGML_NR_HOOKS; h++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", h ? ", " : "",
			 fragml_hook_name(h));
	EXPECT_STREQ(FRAGML_HOOK_LIST, list);
}

TEST(registry_matches_docs)
{
	const char *doc = getenv("FRAGML_FEATURES_DOC");
	const struct fragml_feature_desc *d;
	char line[1024];
	unsigned int rows = 0, n = 0;
	FILE *f;

	f = fopen(doc ? doc : "docs/features.md", "r");
	ASSERT_NE(NULL, f) TH_LOG("docs/features.md not found (run from the top of the tree)");
	while (fgets(line, sizeof(line), f)) {
		int id, scale;
		char name[64], unit[64], obs[128], enf[128];
		unsigned int obs_mask = 0, enf_mask = 0;

		if (sscanf(line, "| %d | `%63[^`]` | %63[^|]| %d | %127[^|]| %127[^|]|", &id, name,
			   unit, &scale, obs, enf) != 6)
			continue;
		rows++;
		d = fragml_feature_by_id(id);
		ASSERT_NE(NULL, d) TH_LOG("docs list feature id %d the registry lacks", id);
		EXPECT_STREQ(d->name, name);
		for (char *u = unit + strlen(unit); u > unit && u[-1] == ' '; )
			*--u = '\0';
		EXPECT_STREQ(d->unit, unit) TH_LOG("feature %s", name);
		EXPECT_EQ(d->scale, scale) TH_LOG("feature %s", name);
		for (unsigned int h = 0; h < FRAGML_NR_HOOKS; h++) {
			if (strstr(obs, fragml_hook_name(h)))
				obs_mask |= FRAGML_HOOKBIT(h);
			if (strstr(enf, fragml_hook_name(h)))
				enf_mask |= FRAGML_HOOKBIT(h);
		}
		EXPECT_EQ(d->obs, obs_mask) TH_LOG("feature %s: observe column", name);
		EXPECT_EQ(d->enf, enf_mask) TH_LOG("feature %s: enforce column", name);
		EXPECT_EQ(d->hooks, obs_mask | enf_mask) TH_LOG("feature %s hooks", name);
	}
	fclose(f);
	while (fragml_feature_at(n))
		n++;
	ASSERT_EQ(n, rows) TH_LOG("registry has %u features, docs/features.md %u", n, rows);
}

TEST_HARNESS_MAIN
