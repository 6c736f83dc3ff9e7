// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml-mkmodel: write a hand-specified model.bin (no training, no XGBoost).
 *
 *   fragml-mkmodel --hook thp_fault --const decline -o decline.bin
 *   fragml-mkmodel --hook compaction --rule 'unusable_ppk<600?skip:run' -o c.bin
 *
 * Used for VM tests and as a safe fallback policy: the models are ORDINAL with
 * thresholds 1, 2, ... so a leaf holding k (Q15.16) selects action k.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragml_model.h"

static const char *prog = "fragml-mkmodel";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s --hook HOOK (--const ACTION | --rule 'FEATURE<VALUE?A:B') -o FILE\n"
		"Write a hand-specified fragml model (no training).\n\n"
		"  -H, --hook HOOK        lifetime | thp_fault | compaction | fallback\n"
		"  -c, --const ACTION     every decision is ACTION (name or number)\n"
		"  -r, --rule RULE        one split: 'FEATURE<VALUE?A:B' (x < VALUE -> A, else B);\n"
		"                         'FEATURE>=VALUE?A:B' is accepted too (x >= VALUE -> A)\n"
		"  -m, --missing A|B      action when the feature is missing (default: B, the\n"
		"                         'else' branch)\n"
		"  -o, --output FILE      model file to write (atomically)\n"
		"  -h, --help             this text\n\n"
		"Actions: lifetime: short long; thp_fault: decline no_compact compact default;\n"
		"compaction: skip run; fallback: fallback defer.\n"
		"Features: see docs/features.md (must be computed at HOOK).\n",
		prog);
}

static int die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

/* Action by name or number; -1 if not an action of `hook`. */
static int parse_action(unsigned int hook, const char *s)
{
	unsigned int n = fragml_hook_n_actions(hook);
	char *end;
	long v;

	for (unsigned int a = 0; a < n; a++)
		if (!strcmp(s, fragml_action_name(hook, a)))
			return (int)a;
	errno = 0;
	v = strtol(s, &end, 10);
	if (!errno && *s && !*end && v >= 0 && v < (long)n)
		return (int)v;
	return -1;
}

static void set_leaf(struct fragml_node *n, int action)
{
	n->info = FRAGML_NODE_LEAF;
	n->left = 0;
	n->value = action * (1 << FRAGML_LEAF_SHIFT);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hook", required_argument, NULL, 'H' },
		{ "const", required_argument, NULL, 'c' },
		{ "rule", required_argument, NULL, 'r' },
		{ "missing", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *hook_s = NULL, *const_s = NULL, *rule_s = NULL, *out = NULL, *miss_s = "B";
	struct fragml_model *m;
	struct fragml_err err = { 0 };
	int c, hook;

	while ((c = getopt_long(argc, argv, "H:c:r:m:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': hook_s = optarg; break;
		case 'c': const_s = optarg; break;
		case 'r': rule_s = optarg; break;
		case 'm': miss_s = optarg; break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		return die("unexpected argument '%s'%s (see --help)", argv[optind], "");
	if (!hook_s || !out || !!const_s == !!rule_s) {
		usage(stderr);
		return 2;
	}
	hook = fragml_hook_from_name(hook_s);
	if (hook < 0)
		return die("--hook '%s': unknown hook%s (lifetime, thp_fault, compaction)", hook_s, "");

	m = calloc(1, sizeof(*m));
	if (!m)
		return die("out of memory%s%s", "", "");
	m->hook = (uint8_t)hook;
	m->output = FRAGML_OUT_ORDINAL;
	m->n_actions = (uint8_t)fragml_hook_n_actions((unsigned int)hook);
	m->schema = FRAGML_SCHEMA_VERSION;
	for (unsigned int i = 0; i + 1 < m->n_actions; i++)
		m->thresholds[i] = (int32_t)(i + 1) << FRAGML_LEAF_SHIFT;
	m->n_trees = 1;
	m->trees[0].root = 0;

	if (const_s) {
		int a = parse_action((unsigned int)hook, const_s);

		if (a < 0)
			return die("--const '%s': not an action of hook %s", const_s, hook_s);
		m->n_nodes = 1;
		set_leaf(&m->nodes[0], a);
	} else {
		char feat[64], *p, *q, *colon, *end;
		const struct fragml_feature_desc *d;
		int ge = 0, a, b;
		long v;
		size_t fl;

		p = strpbrk(rule_s, "<>");
		q = strchr(rule_s, '?');
		if (!p || !q || q < p)
			return die("--rule '%s': expected 'FEATURE<VALUE?A:B'%s", rule_s, "");
		fl = (size_t)(p - rule_s);
		if (fl == 0 || fl >= sizeof(feat))
			return die("--rule '%s': bad feature name%s", rule_s, "");
		memcpy(feat, rule_s, fl);
		feat[fl] = '\0';
		if (p[0] == '>') {
			if (p[1] != '=')
				return die("--rule '%s': only '<' and '>=' are supported (split rule is x < t)%s",
					   rule_s, "");
			ge = 1;
			p += 2;
		} else {
			p += 1;
		}
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || end != q)
			return die("--rule '%s': value is not an integer%s", rule_s, "");
		if (v < FRAGML_FEAT_MIN || v > FRAGML_FEAT_MAX + 1L)
			return die("--rule '%s': value outside the feature range +-(2^24-1)%s", rule_s, "");
		d = fragml_feature_by_name(feat);
		if (!d)
			return die("--rule: unknown feature '%s'%s (see docs/features.md)", feat, "");
		colon = strchr(q + 1, ':');
		if (!colon)
			return die("--rule '%s': expected '?A:B' after the value%s", rule_s, "");
		*colon = '\0';
		a = parse_action((unsigned int)hook, q + 1);
		b = parse_action((unsigned int)hook, colon + 1);
		if (a < 0)
			return die("--rule: '%s' is not an action of hook %s", q + 1, hook_s);
		if (b < 0)
			return die("--rule: '%s' is not an action of hook %s", colon + 1, hook_s);
		if (ge) {	/* x >= v ? a : b  ==  x < v ? b : a */
			int t = a;

			a = b;
			b = t;
		}
		m->n_nodes = 3;
		m->nodes[0].info = (uint16_t)d->id;
		m->nodes[0].left = 1;
		m->nodes[0].value = (int32_t)v;
		/* --missing names the branch as written: A is the 'then' action. */
		if (!strcmp(miss_s, "A") || !strcmp(miss_s, "a")) {
			if (!ge)
				m->nodes[0].info |= FRAGML_NODE_DEFAULT_LEFT;
		} else if (!strcmp(miss_s, "B") || !strcmp(miss_s, "b")) {
			if (ge)
				m->nodes[0].info |= FRAGML_NODE_DEFAULT_LEFT;
		} else {
			return die("--missing '%s': expected A or B%s", miss_s, "");
		}
		set_leaf(&m->nodes[1], a);
		set_leaf(&m->nodes[2], b);
	}
	if (fragml_model_write_file(m, out, &err)) {
		fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
		free(m);
		return 1;
	}
	fprintf(stderr, "%s: wrote %s (hook %s, %u nodes, crc32 0x%08x)\n", prog, out, hook_s,
		m->n_nodes, m->crc32);
	free(m);
	return 0;
}
