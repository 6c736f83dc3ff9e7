// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `fragml probe` (what this kernel offers) and `fragml explain` (why a model decided). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fragml_cli.h"
#include "fragml_dataset.h"

/* ---- probe ---- */

static void probe_usage(FILE *f)
{
	fprintf(f,
		"Usage: fragml probe [--json]\n"
		"What this kernel offers fragml and the mode fragml-load will run in:\n"
		"  * kernel BTF (FRAGML_BTF, default /sys/kernel/btf/vmlinux);\n"
		"  * the mm_policy_ops struct_ops type of kernel-patches/ and its members\n"
		"    thp_fault, compact, fallback and placement (the enforcing hooks);\n"
		"  * which program types load and attach here: tp_btf, raw_tp, tracepoint,\n"
		"    syscall, struct_ops, fentry, lsm.  Each is tried by loading a trivial\n"
		"    program (bpf/fragml_probe.bpf.c) and attaching it for an instant, or by\n"
		"    libbpf's feature probe (struct_ops); nothing is inferred from the version;\n"
		"  * bpffs and tracefs mounts, the active LSMs when securityfs shows them.\n"
		"Mode: enforce (mm_policy_ops + struct_ops), observe (tp_btf + syscall), or none.\n"
		"Needs root (CAP_BPF, CAP_PERFMON; CAP_SYS_ADMIN for tracepoint programs).\n"
		"Exit status: 0 when fragml can run (observe or enforce), 1 when it cannot.\n");
}

static void probe_json(const struct fragml_probe_result *p)
{
	struct json_object *o = json_object_new_object(), *types = json_object_new_object();
	struct json_object *hooks = json_object_new_object(), *members = json_object_new_object();

	json_object_object_add(o, "mode", json_object_new_string(p->mode));
	json_object_object_add(o, "mode_reason", json_object_new_string(p->mode_reason));
	json_object_object_add(o, "btf", json_object_new_boolean(p->btf));
	json_object_object_add(o, "btf_path", json_object_new_string(p->btf_path));
	json_object_object_add(hooks, "mm_policy_ops", json_object_new_boolean(p->policy_type));
	for (unsigned int k = 0; k < FRAGML_PROBE_NR_MEMBERS; k++)
		json_object_object_add(members, fragml_probe_member_name(k),
				       json_object_new_boolean(p->policy_member[k]));
	json_object_object_add(hooks, "members", members);
	json_object_object_add(o, "hooks", hooks);
	for (unsigned int t = 0; t < FRAGML_PROBE_NR; t++) {
		const struct fragml_probe_type *r = &p->types[t];
		struct json_object *e = json_object_new_object();
		char clean[sizeof(r->detail)];

		json_object_object_add(e, "loads", json_object_new_boolean(r->loads));
		json_object_object_add(e, "attaches", json_object_new_boolean(r->attaches));
		if (r->error) {
			fragml_utf8_clean(clean, sizeof(clean), r->detail);
			json_object_object_add(e, "errno", json_object_new_int(-r->error));
			json_object_object_add(e, "reason", json_object_new_string(clean));
		}
		json_object_object_add(types, r->name, e);
	}
	json_object_object_add(o, "program_types", types);
	json_object_object_add(o, "bpffs_mounted", json_object_new_boolean(p->bpffs_mounted));
	json_object_object_add(o, "tracefs_mounted", json_object_new_boolean(p->tracefs_mounted));
	json_object_object_add(o, "lsm", p->lsm_known ? json_object_new_string(p->lsm) : NULL);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void probe_text(const struct fragml_probe_result *p)
{
	printf("mode: %s (%s)\n", p->mode, p->mode_reason);
	printf("kernel BTF: %s (%s)\n", p->btf ? "yes" : "no", p->btf_path);
	printf("mm_policy_ops: %s", p->policy_type ? "yes" : "no (kernel without kernel-patches/)");
	if (p->policy_type)
		for (unsigned int k = 0; k < FRAGML_PROBE_NR_MEMBERS; k++)
			printf(" %s=%s", fragml_probe_member_name(k), p->policy_member[k] ? "yes" : "no");
	printf("\nprogram types:\n");
	for (unsigned int t = 0; t < FRAGML_PROBE_NR; t++) {
		const struct fragml_probe_type *r = &p->types[t];

		/* syscall programs run by test run, struct_ops attach per kernel type */
		bool load_only = t == FRAGML_PROBE_SYSCALL || t == FRAGML_PROBE_STRUCT_OPS;

		printf("  %-10s %s%s%s\n", r->name,
		       r->attaches ? (load_only ? "loads" : "loads and attaches") :
		       r->loads ? "loads, attach refused" : "refused",
		       r->error ? ": " : "", r->error ? r->detail : "");
	}
	printf("bpffs on " FRAGML_DEFAULT_BPFFS ": %s; tracefs: %s; LSMs: %s\n", p->bpffs_mounted ? "mounted" : "not mounted",
	       p->tracefs_mounted ? "mounted" : "not mounted",
	       p->lsm_known ? p->lsm : "unknown (securityfs not mounted)");
}

int fragml_cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct fragml_probe_result *p;
	struct fragml_err err = { 0 };
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			json = true;
			continue;
		}
		probe_usage(c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : 2;
	}
	if (optind != argc) {
		probe_usage(stderr);
		return 2;
	}
	p = malloc(sizeof(*p));
	if (!p) {
		fprintf(stderr, "fragml probe: out of memory\n");
		return 1;
	}
	if (fragml_probe_kernel(p, getenv("FRAGML_BTF"), &err)) {
		free(p);
		return fragml_cli_fail("fragml probe", &err);
	}
	if (json)
		probe_json(p);
	else
		probe_text(p);
	ret = strcmp(p->mode, "none") ? 0 : 1;
	free(p);
	return ret;
}

/* ---- explain ---- */

static const char *explain_prog = "fragml explain";

static void explain_usage(FILE *f)
{
	fprintf(f,
		"Usage: fragml explain MODEL.bin --vector 'FEATURE=VALUE,...' [--json]\n"
		"       fragml explain MODEL.bin --csv DATA.csv [--row N] [--json]\n"
		"       fragml explain --live HOOK (--vector ... | --csv ... [--row N]) [--json]\n\n"
		"The tree paths behind one decision: for every tree each split taken (feature,\n"
		"its value, the threshold, which way), the leaf reached and its value, then the\n"
		"base score plus the leaf values summed per class, the action they give, and\n"
		"the reference evaluator's result for the same vector (they must agree).\n\n"
		"fragml keeps no feature vectors of live decisions (the programs in the kernel\n"
		"count decisions per model version and action, nothing more), so the vector\n"
		"comes from you or from a dataset: --vector with registered feature names\n"
		"(docs/features.md) and integer values as the kernel computes them (ratios in\n"
		"parts per 1024), 'missing' or an absent feature for a missing value; or --csv\n"
		"with a collector CSV (fragml-collect, docs/dataset.md) and the N-th row (from\n"
		"1, default 1) of the model's hook.\n\n"
		"  --live HOOK   explain with the model the kernel runs now at HOOK (root)\n"
		"  --vector V    the feature vector\n"
		"  --csv FILE    take the vector from a dataset row\n"
		"  --row N       which row of the model's hook in FILE (default 1)\n"
		"  --json        one JSON object\n");
}

static int parse_vector(const char *spec, int32_t *feat)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	int ret = 0;

	if (!copy) {
		fprintf(stderr, "%s: out of memory\n", explain_prog);
		return 1;
	}
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		const struct fragml_feature_desc *d;
		char *eq = strchr(tok, '='), *end;
		long long v;

		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (!eq) {
			fprintf(stderr, "%s: --vector: '%s' is not FEATURE=VALUE\n", explain_prog, tok);
			ret = 2;
			break;
		}
		*eq = '\0';
		d = fragml_feature_by_name(tok);
		if (!d) {
			fprintf(stderr, "%s: --vector: unknown feature '%s' (docs/features.md lists them)\n",
				explain_prog, tok);
			ret = 2;
			break;
		}
		if (!strcmp(eq + 1, "missing") || !strcmp(eq + 1, "-")) {
			feat[d->id] = FRAGML_MISSING;
			continue;
		}
		errno = 0;
		v = strtoll(eq + 1, &end, 0);
		/* any value the evaluator takes (INT32_MIN is the missing marker) */
		if (errno || end == eq + 1 || *end || v <= INT32_MIN || v > INT32_MAX) {
			fprintf(stderr, "%s: --vector: %s=%s: want a 32-bit integer above %d or 'missing'\n",
				explain_prog, tok, eq + 1, INT32_MIN);
			ret = 2;
			break;
		}
		feat[d->id] = (int32_t)v;
	}
	free(copy);
	return ret;
}

/* The N-th row (from 1) of the model's hook in a collector CSV. */
static int vector_from_csv(const char *path, unsigned int hook, long row, int32_t *feat, char *what,
			   size_t what_len)
{
	struct fragml_read_opts ro = { .hook = (int)hook, .allow_missing_columns = 1 };
	struct fragml_err err = { 0 };
	struct fragml_dataset ds;
	int ret = 0;

	fragml_dataset_init(&ds);
	if (fragml_dataset_read_csv(&ds, path, &ro, &err)) {
		ret = fragml_cli_fail(explain_prog, &err);
	} else if (row < 1 || (size_t)row > ds.n_rows) {
		fprintf(stderr, "%s: %s: row %ld of hook %s requested, the file has %zu such rows\n",
			explain_prog, path, row, fragml_hook_name(hook), ds.n_rows);
		ret = 2;
	} else {
		size_t r = (size_t)row - 1;

		memcpy(feat, &ds.x[r * FRAGML_MAX_FEATURES], sizeof(int32_t) * FRAGML_MAX_FEATURES);
		snprintf(what, what_len, "%s row %ld of hook %s (workload %s, source %s, label %u)", path,
			 row, fragml_hook_name(hook), ds.workloads[ds.workload[r]], ds.sources[ds.source[r]],
			 ds.label[r]);
	}
	fragml_dataset_free(&ds);
	return ret;
}

static const char *feat_name(unsigned int id)
{
	const struct fragml_feature_desc *d = fragml_feature_by_id((int)id);

	return d ? d->name : "?";
}

static struct json_object *json_q16(int64_t v)
{
	return json_object_new_double(fragml_fixed_to_double(v));
}

static void explain_json(const struct fragml_model *m, const char *model_name, uint32_t version,
			 const char *sha, const char *vector_from, const struct fragml_explain *x,
			 const struct fragml_eval_out *ref)
{
	struct json_object *o = json_object_new_object(), *trees = json_object_new_array();
	struct json_object *scores = json_object_new_array(), *base = json_object_new_array();
	struct json_object *r = json_object_new_object();
	char clean[PATH_MAX + 256];

	fragml_utf8_clean(clean, sizeof(clean), model_name);
	json_object_object_add(o, "model", json_object_new_string(clean));
	if (version)
		json_object_object_add(o, "version", json_object_new_int64(version));
	json_object_object_add(o, "sha256", json_object_new_string(sha));
	json_object_object_add(o, "hook", json_object_new_string(fragml_hook_name(m->hook)));
	json_object_object_add(o, "output", json_object_new_string(m->output == FRAGML_OUT_ORDINAL ?
								   "ordinal" : "argmax"));
	fragml_utf8_clean(clean, sizeof(clean), vector_from);
	json_object_object_add(o, "vector_from", json_object_new_string(clean));
	for (unsigned int a = 0; a < (m->output == FRAGML_OUT_ORDINAL ? 1u : m->n_actions); a++) {
		json_object_array_add(base, json_object_new_int(m->base[a]));
		json_object_array_add(scores, json_object_new_int64(x->scores[a]));
	}
	for (unsigned int t = 0; t < x->n_trees; t++) {
		const struct fragml_explain_tree *et = &x->trees[t];
		struct json_object *e = json_object_new_object(), *path = json_object_new_array();

		json_object_object_add(e, "tree", json_object_new_int((int)t));
		json_object_object_add(e, "class", json_object_new_int(et->cls));
		for (unsigned int s = 0; s < et->n_steps; s++) {
			const struct fragml_explain_step *st = &et->steps[s];
			struct json_object *n = json_object_new_object();

			json_object_object_add(n, "node", json_object_new_int(st->node));
			json_object_object_add(n, "feature", json_object_new_string(feat_name(st->feature)));
			json_object_object_add(n, "value", st->missing ? NULL : json_object_new_int(st->x));
			json_object_object_add(n, "missing", json_object_new_boolean(st->missing));
			json_object_object_add(n, "threshold", json_object_new_int(st->threshold));
			json_object_object_add(n, "went", json_object_new_string(st->left ? "left" : "right"));
			json_object_array_add(path, n);
		}
		json_object_object_add(e, "path", path);
		json_object_object_add(e, "leaf", json_object_new_int(et->leaf));
		json_object_object_add(e, "leaf_value_q16", json_object_new_int(et->leaf_value));
		json_object_object_add(e, "leaf_value", json_q16(et->leaf_value));
		json_object_array_add(trees, e);
	}
	json_object_object_add(o, "trees", trees);
	json_object_object_add(o, "base_q16", base);
	json_object_object_add(o, "scores_q16", scores);
	json_object_object_add(o, "score_q16", json_object_new_int64(x->score));
	json_object_object_add(o, "score", json_q16(x->score));
	json_object_object_add(o, "action", json_object_new_int((int)x->action));
	json_object_object_add(o, "action_name",
			       json_object_new_string(fragml_action_name(m->hook, x->action) ?: "?"));
	json_object_object_add(r, "action", json_object_new_int((int)ref->action));
	json_object_object_add(r, "score_q16", json_object_new_int64(ref->score));
	json_object_object_add(o, "reference", r);
	json_object_object_add(o, "agrees", json_object_new_boolean(ref->action == x->action &&
								    ref->score == x->score));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void explain_text(const struct fragml_model *m, const char *model_name, uint32_t version,
			 const char *sha, const char *vector_from, const struct fragml_explain *x,
			 const struct fragml_eval_out *ref)
{
	printf("model %s%s%.0u: hook %s, %s, %u trees, sha256 %s\n", model_name, version ? " v" : "",
	       version, fragml_hook_name(m->hook), m->output == FRAGML_OUT_ORDINAL ? "ordinal" : "argmax",
	       m->n_trees, sha);
	printf("vector: %s\n", vector_from);
	for (unsigned int t = 0; t < x->n_trees; t++) {
		const struct fragml_explain_tree *et = &x->trees[t];

		printf("tree %u%s", t, m->output == FRAGML_OUT_ARGMAX ? "" : ":\n");
		if (m->output == FRAGML_OUT_ARGMAX)
			printf(" (class %s):\n", fragml_action_name(m->hook, et->cls) ?: "?");
		for (unsigned int s = 0; s < et->n_steps; s++) {
			const struct fragml_explain_step *st = &et->steps[s];

			if (st->missing)
				printf("  node %-5u %s missing -> %s (default)\n", st->node,
				       feat_name(st->feature), st->left ? "left" : "right");
			else
				printf("  node %-5u %s = %d %s %d -> %s\n", st->node, feat_name(st->feature),
				       st->x, st->left ? "<" : ">=", st->threshold, st->left ? "left" : "right");
		}
		printf("  leaf %-5u %+.6f\n", et->leaf, fragml_fixed_to_double(et->leaf_value));
	}
	if (m->output == FRAGML_OUT_ORDINAL) {
		printf("score: base %+.6f + leaves = %+.6f; thresholds", fragml_fixed_to_double(m->base[0]),
		       fragml_fixed_to_double(x->scores[0]));
		for (unsigned int i = 0; i + 1 < m->n_actions; i++)
			printf(" %+.6f", fragml_fixed_to_double(m->thresholds[i]));
		printf("\n");
	} else {
		for (unsigned int a = 0; a < m->n_actions; a++)
			printf("score %s: base %+.6f + leaves = %+.6f\n", fragml_action_name(m->hook, a) ?: "?",
			       fragml_fixed_to_double(m->base[a]), fragml_fixed_to_double(x->scores[a]));
	}
	printf("action: %s (%u)\n", fragml_action_name(m->hook, x->action) ?: "?", x->action);
	printf("reference evaluator: action %s (%u), score %+.6f: %s\n",
	       fragml_action_name(m->hook, ref->action) ?: "?", ref->action,
	       fragml_fixed_to_double(ref->score),
	       ref->action == x->action && ref->score == x->score ? "agrees" : "DISAGREES");
}

int fragml_cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "live", required_argument, NULL, 'L' }, { "vector", required_argument, NULL, 'v' },
		{ "csv", required_argument, NULL, 'c' }, { "row", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *live = NULL, *vector = NULL, *csv = NULL, *model_name;
	struct fragml_err err = { 0 };
	char sha[FRAGML_SHA256_HEX], what[PATH_MAX + 256];
	int32_t feat[FRAGML_MAX_FEATURES];
	struct fragml_model *m = NULL;
	struct fragml_explain *x = NULL;
	struct fragml_eval_out ref;
	uint32_t version = 0;
	bool json = false;
	long row = 1;
	int c, ret = 2;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'L': live = optarg; break;
		case 'v': vector = optarg; break;
		case 'c': csv = optarg; break;
		case 'r': {
			char *end;

			errno = 0;
			row = strtol(optarg, &end, 10);
			if (errno || *end || row < 1) {
				fprintf(stderr, "%s: --row '%s': want a row number from 1\n", explain_prog, optarg);
				return 2;
			}
			break;
		}
		case 'j': json = true; break;
		case 'h': explain_usage(stdout); return 0;
		default: explain_usage(stderr); return 2;
		}
	}
	if ((live ? optind != argc : optind + 1 != argc) || !vector == !csv) {
		explain_usage(stderr);
		return 2;
	}
	m = malloc(sizeof(*m));
	x = malloc(sizeof(*x));
	if (!m || !x) {
		fprintf(stderr, "%s: out of memory\n", explain_prog);
		ret = 1;
		goto out;
	}
	if (live) {
		struct fragml_handle *h = NULL;
		struct fragml_open_opts oo;
		int hook = fragml_hook_from_name(live);

		if (hook < 0) {
			fprintf(stderr, "%s: --live: unknown hook '%s' (" FRAGML_HOOK_LIST ")\n",
				explain_prog, live);
			goto out;
		}
		fragml_cli_open_opts(&oo);
		if (fragml_open(&h, &oo, NULL, &err) ||
		    fragml_live_model(h, (unsigned int)hook, m, &version, &err)) {
			fragml_close(h);
			ret = fragml_cli_fail(explain_prog, &err);
			goto out;
		}
		fragml_close(h);
		model_name = live;
	} else {
		model_name = argv[optind];
		if (fragml_model_read_file(m, model_name, &err)) {
			ret = fragml_cli_fail(explain_prog, &err);
			goto out;
		}
	}
	for (unsigned int i = 0; i < FRAGML_MAX_FEATURES; i++)
		feat[i] = FRAGML_MISSING;
	if (vector) {
		ret = parse_vector(vector, feat);
		snprintf(what, sizeof(what), "--vector %s", vector);
	} else {
		ret = vector_from_csv(csv, m->hook, row, feat, what, sizeof(what));
	}
	if (ret)
		goto out;
	if (fragml_model_sha256(m, sha, &err)) {
		ret = fragml_cli_fail(explain_prog, &err);
		goto out;
	}
	fragml_model_explain(m, feat, x);
	fragml_model_eval(m, feat, &ref);
	if (json)
		explain_json(m, model_name, version, sha, what, x, &ref);
	else
		explain_text(m, model_name, version, sha, what, x, &ref);
	ret = ref.action == x->action && ref.score == x->score ? 0 : 1;
out:
	free(m);
	free(x);
	return ret;
}
