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
		"  -H, --hook HOOK        lifetime | thp_fault | compaction | fallback | placement\n"
		"  -c, --const ACTION     every decision is ACTION (name or number)\n"
		"  -r, --rule RULE        a split: 'FEATURE<VALUE?A:B' (x < VALUE -> A, else B);\n"
		"                         A and B are actions or parenthesised rules:\n"
		"                         'migratetype<1?claim:(migratetype<2?default:claim)'\n"
		"                         'FEATURE>=VALUE?A:B' is accepted too (x >= VALUE -> A)\n"
		"  -m, --missing A|B      action when the feature is missing (default: B, the\n"
		"                         'else' branch)\n"
		"  -o, --output FILE      model file to write (atomically)\n"
		"  -h, --help             this text\n\n"
		"Actions: lifetime: short long; thp_fault: decline no_compact compact default;\n"
		"compaction: skip run; fallback: fallback defer;\nplacement: default claim skip steal.\n"
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

/*
 * --rule grammar: RULE := ACTION | FEATURE<VALUE?ARM:ARM | FEATURE>=VALUE?ARM:ARM,
 * ARM := ACTION | (RULE).  Each split becomes one node whose two children
 * are adjacent (left, left + 1), as in every fragml tree.
 */
struct rule_parser {
	const char *s;		/* the whole rule, for messages */
	const char *hook_s;
	unsigned int hook;
	int miss_then;		/* --missing A: missing values take the 'then' arm */
	struct fragml_model *m;
};

static const char *parse_rule(struct rule_parser *rp, const char *p, unsigned int node);

/* An arm: an action name, or a parenthesised rule.  Returns the text after it. */
static const char *parse_arm(struct rule_parser *rp, const char *p, unsigned int node, char stop)
{
	char name[32];
	size_t n;
	int a;

	if (*p == '(') {
		p = parse_rule(rp, p + 1, node);
		if (!p)
			return NULL;
		if (*p != ')') {
			die("--rule '%s': missing ')'%s", rp->s, "");
			return NULL;
		}
		return p + 1;
	}
	/* an action runs to ':' (a 'then' arm), else to ')' or the end */
	n = stop == ':' ? strcspn(p, ":") : strcspn(p, ")");
	if (n == 0 || n >= sizeof(name)) {
		die("--rule '%s': expected an action or '(' at '%s'", rp->s, p);
		return NULL;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	a = parse_action(rp->hook, name);
	if (a < 0) {
		die("--rule: '%s' is not an action of hook %s", name, rp->hook_s);
		return NULL;
	}
	set_leaf(&rp->m->nodes[node], a);
	return p + n;
}

static const char *parse_rule(struct rule_parser *rp, const char *p, unsigned int node)
{
	const struct fragml_feature_desc *d;
	const char *op, *q, *then_p, *after;
	char feat[64], *end;
	unsigned int left;
	struct fragml_node *nd;
	int ge = 0;
	long v;
	size_t fl;

	op = p + strcspn(p, "<>?:()");
	if (*op != '<' && *op != '>') {	/* a bare action */
		return parse_arm(rp, p, node, 0);
	}
	fl = (size_t)(op - p);
	if (fl == 0 || fl >= sizeof(feat)) {
		die("--rule '%s': bad feature name%s", rp->s, "");
		return NULL;
	}
	memcpy(feat, p, fl);
	feat[fl] = '\0';
	if (op[0] == '>') {
		if (op[1] != '=') {
			die("--rule '%s': only '<' and '>=' are supported (split rule is x < t)%s",
			    rp->s, "");
			return NULL;
		}
		ge = 1;
		op += 2;
	} else {
		op += 1;
	}
	errno = 0;
	v = strtol(op, &end, 10);
	q = end;
	if (errno || end == op || *q != '?') {
		die("--rule '%s': expected 'FEATURE<VALUE?A:B' (an integer VALUE, then '?')%s", rp->s, "");
		return NULL;
	}
	if (v < FRAGML_FEAT_MIN || v > FRAGML_FEAT_MAX + 1L) {
		die("--rule '%s': value outside the feature range +-(2^24-1)%s", rp->s, "");
		return NULL;
	}
	d = fragml_feature_by_name(feat);
	if (!d) {
		die("--rule: unknown feature '%s'%s (see docs/features.md)", feat, "");
		return NULL;
	}
	if (rp->m->n_nodes + 2 > FRAGML_MAX_NODES) {
		die("--rule '%s': too many splits%s", rp->s, "");
		return NULL;
	}
	left = rp->m->n_nodes;
	rp->m->n_nodes += 2;
	nd = &rp->m->nodes[node];
	nd->info = (uint16_t)d->id;
	nd->left = (uint16_t)left;
	nd->value = (int32_t)v;
	/* x >= v ? A : B  ==  x < v ? B : A: the 'then' arm is the right child */
	then_p = q + 1;
	if (rp->miss_then != ge)
		nd->info |= FRAGML_NODE_DEFAULT_LEFT;
	after = parse_arm(rp, then_p, ge ? left + 1 : left, ':');
	if (!after)
		return NULL;
	if (*after != ':') {
		die("--rule '%s': expected '?A:B' after the value%s", rp->s, "");
		return NULL;
	}
	return parse_arm(rp, after + 1, ge ? left : left + 1, ')');
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
		return die("--hook '%s': unknown hook%s (" FRAGML_HOOK_LIST ")", hook_s, "");

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
		struct rule_parser rp = { .s = rule_s, .hook = (unsigned int)hook, .hook_s = hook_s,
					  .m = m };
		const char *rest;

		if (strcmp(miss_s, "A") && strcmp(miss_s, "a") && strcmp(miss_s, "B") &&
		    strcmp(miss_s, "b"))
			return die("--missing '%s': expected A or B%s", miss_s, "");
		rp.miss_then = !strcmp(miss_s, "A") || !strcmp(miss_s, "a");
		m->n_nodes = 1;
		rest = parse_rule(&rp, rule_s, 0);
		if (!rest)
			return 1;
		if (*rest)
			return die("--rule '%s': unexpected text after the rule: '%s'", rule_s, rest);
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
