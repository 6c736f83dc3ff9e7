// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml-train: collector CSV -> model.bin + metrics (docs/trainer.md).
 * A thin command over fragml_dataset.h and fragml_train.h.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fragml_dataset.h"
#include "fragml_train.h"

static const char *prog = "fragml-train";
static int quiet;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s --hook HOOK --data FILE.csv [--data ...] -o model.bin [options]\n"
		"Train a fragml decision-tree model on collector CSV and compile it to model.bin.\n\n"
		"  -H, --hook HOOK          lifetime | thp_fault | compaction | fallback | placement (rows of other hooks are skipped)\n"
		"  -d, --data FILE          collector CSV (docs/dataset.md); repeat for several files\n"
		"  -o, --output FILE        model file to write\n"
		"  -r, --report FILE        JSON metrics report (docs/trainer.md); '-' = stdout\n"
		"  -k, --kind KIND          binary | ordinal3 | argmax (default: ordinal3 for thp_fault,\n"
		"                           else binary)\n"
		"  -t, --trees N            total trees (default 16; kernel budget 32)\n"
		"  -D, --max-depth N        tree depth (default 5; kernel budget 8)\n"
		"      --eta X              learning rate (default 0.3)\n"
		"      --min-child-weight X (default 1)\n"
		"  -s, --seed N             XGBoost seed (default 1); same seed + data = same model.bin\n"
		"      --no-balance         do not weight classes equally\n"
		"      --over-budget        allow depth up to 12 and 64 trees (the format limits)\n"
		"  -f, --features LIST      comma-separated registered features to use (default: all of the hook)\n"
		"      --mode MODE          observe | enforce: train only on the features the hook computes\n"
		"                           in that running mode (default: those it computes in every\n"
		"                           mode that evaluates it, so the model loads in either)\n"
		"      --split MODE         workload (default: hold out workloads for the cross-workload\n"
		"                           test) | time (every workload split by time only)\n"
		"  -w, --test-workloads L   comma-separated workloads to hold out (default: every 4th by name)\n"
		"      --val-frac X         per seen workload, by time (default 0.15)\n"
		"      --test-frac X        per seen workload, by time (default 0.20)\n"
		"  -T, --threshold RULE     f1 | recall:R | precision:P | prob:P (default f1)\n"
		"      --threshold-from SRC where RULE picks the threshold: validation (default: the\n"
		"                           validation rows, later in time) | workloads (each training\n"
		"                           workload scored by a model trained without it; one more\n"
		"                           training per workload): a threshold for unseen workloads\n"
		"      --compact-precision P  thp_fault: precision needed to allow direct compaction (0.95)\n"
		"      --never-compact      thp_fault: never choose compact (no direct-compaction stalls)\n"
		"      --positive ACTION    binary: the action taken where score >= threshold (default the\n"
		"                           hook's action 1; fallback: compact makes a now/compact gate)\n"
		"      --decline-precision P  decline (action 0) only where the validation rows declined are\n"
		"                           at least P label 0, else never decline (default off)\n"
		"      --loo                also train once per workload with it held out (generalisation;\n"
		"                           a workload without which one label is left is listed as\n"
		"                           not scored)\n"
		"      --min-parity X       fail if integer/float decision agreement is below X (0.999)\n"
		"      --eval MODEL.bin     no training: evaluate MODEL.bin on every row of --data (a\n"
		"                           shipped model on a new collection, another kernel); -o not needed\n"
		"      --label NAME[:MIN]   train on another label column of the data (docs/dataset.md):\n"
		"                           lifetime: pollutes | life_class (label = value >= MIN, default 1;\n"
		"                           life_class:2 = lived >= 60 s); rows with an empty cell are dropped\n"
		"      --site-table FILE    lifetime: also write the per-site counts of the data's `site` column\n"
		"                           (lived >= T or not, from `label`) for fragml-load --site-table\n"
		"  -q, --quiet              no progress or table\n"
		"  -h, --help               this text\n",
		prog);
}

static void progress(void *ctx, unsigned int it, unsigned int total, const char *eval)
{
	const char *tag = ctx;

	if (quiet)
		return;
	/* a live line on a terminal; only every 8th round and the last in a log */
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r%s: %s: round %u/%u %s   %s", prog, tag, it, total,
			eval ? eval : "", it == total ? "\n" : "");
	else if (it % 8 == 0 || it == total)
		fprintf(stderr, "%s: %s: round %u/%u %s\n", prog, tag, it, total, eval ? eval : "");
}

static uint64_t parse_features(const char *list, unsigned int hook, int mode)
{
	uint64_t computed = fragml_hook_feature_mask(hook, mode);
	uint64_t mask = 0;
	char *s = strdup(list), *save = NULL;

	if (!s)
		return 0;
	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct fragml_feature_desc *d = fragml_feature_by_name(tok);

		if (!d) {
			fprintf(stderr, "%s: --features: unknown feature '%s' (see docs/features.md)\n",
				prog, tok);
			free(s);
			exit(2);
		}
		if (!(computed & (1ull << d->id))) {
			fprintf(stderr, "%s: --features: '%s' is not computed at hook %s %s (docs/features.md)\n",
				prog, tok, fragml_hook_name(hook),
				mode < 0 ? "in every mode that evaluates it: give --mode" :
				mode == FRAGML_MODE_ENFORCE ? "in enforce mode" : "in observe mode");
			free(s);
			exit(2);
		}
		mask |= 1ull << d->id;
	}
	free(s);
	return mask;
}

/* Strict option values: the whole string a number in [lo, hi], else exit 2 (atof("abc") = 0
 * once gave --eta abc a constant model and exit status 0). */
static double num_arg(const char *opt, const char *s, double lo, double hi, int integer)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || isnan(v) || v < lo || v > hi || (integer && v != (double)(long long)v)) {
		fprintf(stderr, "%s: --%s '%s': expected %s in [%g, %g]\n", prog, opt, s,
			integer ? "an integer" : "a number", lo, hi);
		exit(2);
	}
	return v;
}

static void fmt(char *buf, double v)
{
	if (isnan(v))
		strcpy(buf, "    -");
	else
		sprintf(buf, "%5.3f", v);
}

static void print_row(const char *name, const struct fragml_metrics *m)
{
	char a[16], p[16], r[16], f[16], u[16];

	fmt(a, m->accuracy);
	fmt(p, m->precision);
	fmt(r, m->recall);
	fmt(f, m->f1);
	fmt(u, m->auc);
	printf("  %-24s %8zu  %s  %s  %s  %s  %s\n", name, m->n, a, p, r, f, u);
}

/* --eval: a compiled model on every row of the data, no training.  Table (and
 * with -r a JSON report): all rows, system classes, each class, each workload. */
static int eval_main(const struct fragml_dataset *ds, unsigned int hook, const char *path,
		     const char *report)
{
	struct fragml_model *mp = malloc(sizeof(*mp));
	struct fragml_metrics mt;
	struct fragml_err err = { 0 };
	struct json_object *rep, *jc, *jw;
	uint8_t *part = calloc(ds->n_rows + 1, 1);
	char name[96];
	int ret = 1;

	if (!part || !mp) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (fragml_model_read_file(mp, path, &err)) {
		fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
		goto out;
	}
	if (mp->hook != hook) {
		fprintf(stderr, "%s: %s: a %s model, not %s\n", prog, path, fragml_hook_name(mp->hook),
			fragml_hook_name(hook));
		goto out;
	}
#define m (*mp)
	rep = json_object_new_object();
	jc = json_object_new_object();
	jw = json_object_new_object();
	json_object_object_add(rep, "hook", json_object_new_string(fragml_hook_name(hook)));
	json_object_object_add(rep, "model_file", json_object_new_string(path));
	json_object_object_add(rep, "rows", json_object_new_int64((int64_t)ds->n_rows));
	if (!quiet) {
		printf("%s: %s (%u trees, %u nodes, depth %u) on %zu %s rows, %u workload(s)\n", prog, path,
		       m.n_trees, m.n_nodes, m.max_depth, ds->n_rows, fragml_hook_name(hook), ds->n_workloads);
		printf("  %-24s %8s  %5s  %5s  %5s  %5s  %5s\n", "subset", "rows", "acc", "prec", "rec", "f1", "auc");
	}
	fragml_model_metrics_class(&m, ds, part, -1, -1, &mt);
	json_object_object_add(rep, "metrics", fragml_metrics_json(&mt));
	if (!quiet)
		print_row("all", &mt);
	fragml_model_metrics_class(&m, ds, part, -1, -2, &mt);
	if (mt.n) {
		json_object_object_add(rep, "system_classes", fragml_metrics_json(&mt));
		if (!quiet)
			print_row("system", &mt);
	}
	for (int c = 0; c < FRAGML_NR_CLASSES; c++) {
		fragml_model_metrics_class(&m, ds, part, -1, c, &mt);
		if (!mt.n)
			continue;
		json_object_object_add(jc, fragml_class_name(c), fragml_metrics_json(&mt));
		snprintf(name, sizeof(name), "class %s", fragml_class_name(c));
		if (!quiet)
			print_row(name, &mt);
	}
	for (unsigned int w = 0; w < ds->n_workloads; w++) {
		for (size_t r = 0; r < ds->n_rows; r++)
			part[r] = ds->workload[r] == w;
		fragml_model_metrics_class(&m, ds, part, 1, -1, &mt);
		json_object_object_add(jw, ds->workloads[w], fragml_metrics_json(&mt));
		snprintf(name, sizeof(name), "workload %s", ds->workloads[w]);
		if (!quiet)
			print_row(name, &mt);
	}
	json_object_object_add(rep, "by_class", jc);
	json_object_object_add(rep, "by_workload", jw);
	ret = 0;
	if (report) {
		const char *txt = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY);
		FILE *f = strcmp(report, "-") ? fopen(report, "w") : stdout;

		if (!f || fprintf(f, "%s\n", txt) < 0 || (f != stdout && fclose(f))) {
			fprintf(stderr, "%s: %s: %s\n", prog, report, strerror(errno));
			ret = 1;
		}
	}
	json_object_put(rep);
#undef m
out:
	free(mp);
	free(part);
	return ret;
}

static void print_table(const struct fragml_dataset *ds, const struct fragml_train_opts *o,
			const struct fragml_train_result *res)
{
	const struct fragml_model *m = &res->model;

	(void)ds;
	printf("%s: hook %s, %s model: %u trees, %u nodes, depth %u, %u features used, %zu bytes\n",
	       prog, fragml_hook_name(o->hook), fragml_train_kind_name(o->kind), m->n_trees,
	       m->n_nodes, m->max_depth, res->n_features_used, fragml_model_file_size(m));
	if (m->output == FRAGML_OUT_ORDINAL) {
		printf("  thresholds (margin):");
		for (unsigned int i = 0; i + 1 < m->n_actions; i++)
			printf(" %s>=%.4f", fragml_action_name(m->hook, i + 1), res->thresholds[i]);
		printf("\n");
	}
	printf("  %-24s %8s  %5s  %5s  %5s  %5s  %5s\n", "part", "rows", "acc", "prec", "rec",
	       "f1", "auc");
	for (int p = 0; p < FRAGML_NR_PARTS; p++)
		print_row(fragml_part_name(p), &res->m[p]);
	for (int p = FRAGML_PART_TEST; p < FRAGML_NR_PARTS; p++) {
		char name[64];

		if (!res->m[p].n)
			continue;
		snprintf(name, sizeof(name), "%s: system", fragml_part_name(p));
		if (res->system[p].n)
			print_row(name, &res->system[p]);
		for (int c = 0; c < FRAGML_NR_CLASSES; c++) {
			if (!res->by_class[p][c].n)
				continue;
			snprintf(name, sizeof(name), "%s: %s", fragml_part_name(p), fragml_class_name(c));
			print_row(name, &res->by_class[p][c]);
		}
	}
	if (m->n_actions > 2) {
		const struct fragml_metrics *t = res->m[FRAGML_PART_CROSS].n ? &res->m[FRAGML_PART_CROSS] :
									      &res->m[FRAGML_PART_TEST];

		printf("  actions on %s (rows: label, columns:", res->m[FRAGML_PART_CROSS].n ? "cross_workload" : "test");
		for (unsigned int a = 0; a < m->n_actions; a++)
			printf(" %s", fragml_action_name(m->hook, a));
		printf(")\n");
		for (unsigned int l = 0; l < t->n_labels; l++) {
			printf("    label %u:", l);
			for (unsigned int a = 0; a < m->n_actions; a++)
				printf(" %8zu", t->confusion[l][a]);
			printf("\n");
		}
	}
	printf("  parity: %.4f%% of %zu test decisions agree with XGBoost (%zu differ); max |score err| %.2g\n",
	       100.0 * res->parity, res->parity_n, res->n_disagree_total, res->max_quant_err);
}

/* --site-table: per site of the `site` column, its rows and how many lived >= T
 * (the `label` column, whatever --label trains on). */
static int write_site_table(const struct fragml_dataset *ds, const char *path)
{
	struct fragml_site_counts t = {};
	struct fragml_err err = { 0 };
	size_t rows = 0;

	for (size_t r = 0; r < ds->n_rows; r++) {
		if (!ds->site[r])
			continue;
		rows++;
		if (fragml_site_counts_add(&t, ds->site[r], ds->outlived[r] >= 1)) {
			fprintf(stderr, "%s: --site-table: out of memory\n", prog);
			fragml_site_counts_free(&t);
			return -1;
		}
	}
	if (!t.n) {
		fprintf(stderr, "%s: --site-table %s: no row has a `site` (collect with this version of fragml-collect)\n",
			prog, path);
		return -1;
	}
	if (t.n > FRAGML_SITE_TABLE_MAX) {
		fprintf(stderr, "%s: --site-table %s: %zu sites, more than the kernel table's %d\n",
			prog, path, t.n, FRAGML_SITE_TABLE_MAX);
		fragml_site_counts_free(&t);
		return -1;
	}
	if (fragml_site_table_write(path, &t, &err)) {
		fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
		fragml_site_counts_free(&t);
		return -1;
	}
	if (!quiet)
		fprintf(stderr, "%s: wrote %s: %zu sites from %zu rows\n", prog, path, t.n, rows);
	fragml_site_counts_free(&t);
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_ETA = 256, O_MCW, O_NOBAL, O_OVER, O_SPLIT, O_VAL, O_TEST, O_CP, O_DP, O_NOCMP, O_LOO, O_MINPAR, O_EVAL, O_MODE, O_LABEL, O_SITES, O_POS, O_THRFROM };
	static const struct option opts[] = {
		{ "hook", required_argument, NULL, 'H' },
		{ "data", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "report", required_argument, NULL, 'r' },
		{ "kind", required_argument, NULL, 'k' },
		{ "trees", required_argument, NULL, 't' },
		{ "max-depth", required_argument, NULL, 'D' },
		{ "eta", required_argument, NULL, O_ETA },
		{ "min-child-weight", required_argument, NULL, O_MCW },
		{ "seed", required_argument, NULL, 's' },
		{ "no-balance", no_argument, NULL, O_NOBAL },
		{ "over-budget", no_argument, NULL, O_OVER },
		{ "features", required_argument, NULL, 'f' },
		{ "mode", required_argument, NULL, O_MODE },
		{ "split", required_argument, NULL, O_SPLIT },
		{ "test-workloads", required_argument, NULL, 'w' },
		{ "val-frac", required_argument, NULL, O_VAL },
		{ "test-frac", required_argument, NULL, O_TEST },
		{ "threshold", required_argument, NULL, 'T' },
		{ "compact-precision", required_argument, NULL, O_CP },
		{ "decline-precision", required_argument, NULL, O_DP },
		{ "never-compact", no_argument, NULL, O_NOCMP },
		{ "positive", required_argument, NULL, O_POS },
		{ "loo", no_argument, NULL, O_LOO },
		{ "min-parity", required_argument, NULL, O_MINPAR },
		{ "eval", required_argument, NULL, O_EVAL },
		{ "label", required_argument, NULL, O_LABEL },
		{ "site-table", required_argument, NULL, O_SITES },
		{ "threshold-from", required_argument, NULL, O_THRFROM },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *data[64], *out = NULL, *report = NULL, *hook_s = NULL, *kind_s = NULL, *pos_s = NULL,
		   *feat_s = NULL, *split_s = "workload";
	struct fragml_split_opts so = { .test_workloads = NULL, .val_frac = 0.15, .test_frac = 0.20 };
	struct fragml_train_opts o;
	struct fragml_train_result *res = NULL;
	struct fragml_dataset ds;
	struct fragml_err err = { 0 };
	struct fragml_read_opts ro;
	struct json_object *rep = NULL, *loo = NULL, *loo_skip = NULL;
	double min_parity = 0.999;
	uint8_t *part = NULL;
	int nd = 0, c, hook, do_loo = 0, ret = 1;
	int o_mode = -1, o_trees = -1, o_depth = -1, o_seed = -1, o_nobal = 0, o_over = 0, o_nocmp = 0;
	double o_eta = NAN, o_mcw = NAN, o_cp = NAN, o_dp = NAN;
	const char *o_thr = NULL, *eval_model = NULL, *site_table = NULL, *thr_from = "validation";
	char label_col[32] = "";
	int label_min = 1;

	fragml_dataset_init(&ds);
	while ((c = getopt_long(argc, argv, "H:d:o:r:k:t:D:s:f:w:T:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'H': hook_s = optarg; break;
		case 'd':
			if (nd == 64) {
				fprintf(stderr, "%s: at most 64 --data files\n", prog);
				return 2;
			}
			data[nd++] = optarg;
			break;
		case 'o': out = optarg; break;
		case 'r': report = optarg; break;
		case 'k': kind_s = optarg; break;
		case 't': o_trees = (int)num_arg("trees", optarg, 1, 64, 1); break;
		case 'D': o_depth = (int)num_arg("max-depth", optarg, 1, 12, 1); break;
		case O_ETA: o_eta = num_arg("eta", optarg, 1e-6, 1, 0); break;
		case O_MCW: o_mcw = num_arg("min-child-weight", optarg, 0, 1e9, 0); break;
		case 's': o_seed = (int)num_arg("seed", optarg, 0, 2147483647, 1); break;
		case O_NOBAL: o_nobal = 1; break;
		case O_OVER: o_over = 1; break;
		case 'f': feat_s = optarg; break;
		case O_MODE:
			if (!strcmp(optarg, "observe"))
				o_mode = FRAGML_MODE_OBSERVE;
			else if (!strcmp(optarg, "enforce"))
				o_mode = FRAGML_MODE_ENFORCE;
			else {
				fprintf(stderr, "%s: --mode '%s': expected observe or enforce\n", prog, optarg);
				return 2;
			}
			break;
		case O_SPLIT: split_s = optarg; break;
		case 'w': so.test_workloads = optarg; break;
		case O_VAL: so.val_frac = num_arg("val-frac", optarg, 0, 0.99, 0); break;
		case O_TEST: so.test_frac = num_arg("test-frac", optarg, 0, 0.99, 0); break;
		case 'T': o_thr = optarg; break;
		case O_CP: o_cp = num_arg("compact-precision", optarg, 1e-6, 1, 0); break;
		case O_NOCMP: o_nocmp = 1; break;
		case O_POS: pos_s = optarg; break;
		case O_DP: o_dp = num_arg("decline-precision", optarg, 1e-6, 1, 0); break;
		case O_LOO: do_loo = 1; break;
		case O_MINPAR: min_parity = num_arg("min-parity", optarg, 0, 1, 0); break;
		case O_EVAL: eval_model = optarg; break;
		case O_SITES: site_table = optarg; break;
		case O_THRFROM: thr_from = optarg; break;
		case O_LABEL: {
			const char *colon = strchr(optarg, ':');
			size_t n = colon ? (size_t)(colon - optarg) : strlen(optarg);

			if (!n || n >= sizeof(label_col)) {
				fprintf(stderr, "%s: --label '%s': expected a column name, e.g. pollutes or life_class:2\n",
					prog, optarg);
				return 2;
			}
			memcpy(label_col, optarg, n);
			label_col[n] = 0;
			if (colon)
				label_min = (int)num_arg("label", colon + 1, 1, 1000000, 1);
			break;
		}
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]);
		return 2;
	}
	if (!hook_s || !nd || (!out && !eval_model)) {
		fprintf(stderr, "%s: --hook, --data and --output are required (see --help)\n", prog);
		return 2;
	}
	hook = fragml_hook_from_name(hook_s);
	if (hook < 0) {
		fprintf(stderr, "%s: --hook '%s': unknown hook (" FRAGML_HOOK_LIST ")\n", prog, hook_s);
		return 2;
	}
	fragml_train_opts_init(&o, (unsigned int)hook);
	if (kind_s) {
		if (!strcmp(kind_s, "binary"))
			o.kind = FRAGML_TRAIN_BINARY;
		else if (!strcmp(kind_s, "ordinal3"))
			o.kind = FRAGML_TRAIN_ORDINAL3;
		else if (!strcmp(kind_s, "argmax"))
			o.kind = FRAGML_TRAIN_ARGMAX;
		else {
			fprintf(stderr, "%s: --kind '%s': expected binary, ordinal3 or argmax\n", prog, kind_s);
			return 2;
		}
	}
	if (o_trees >= 0) o.n_trees = (unsigned int)o_trees;
	if (o_depth >= 0) o.max_depth = (unsigned int)o_depth;
	if (o_seed >= 0) o.seed = (unsigned int)o_seed;
	if (!isnan(o_eta)) o.eta = o_eta;
	if (!isnan(o_mcw)) o.min_child_weight = o_mcw;
	if (!isnan(o_cp)) o.compact_precision = o_cp;
	if (!isnan(o_dp)) o.decline_precision = o_dp;
	o.never_compact = o_nocmp;
	if (pos_s) {
		unsigned int a;

		for (a = 1; a < fragml_hook_n_actions((unsigned int)hook); a++)
			if (!strcmp(pos_s, fragml_action_name((unsigned int)hook, a)))
				break;
		if (a >= fragml_hook_n_actions((unsigned int)hook)) {
			fprintf(stderr, "%s: --positive '%s': not an action of hook %s other than its first\n",
				prog, pos_s, hook_s);
			return 2;
		}
		o.positive_action = a;
	}
	if (o_thr) o.threshold_rule = o_thr;
	o.balance = !o_nobal;
	o.allow_over_budget = o_over;
	o.mode = o_mode;
	if (o_mode >= 0 && !fragml_hook_evaluated((unsigned int)hook, (unsigned int)o_mode)) {
		fprintf(stderr, "%s: --mode %s: hook %s is not evaluated in that mode\n", prog,
			fragml_mode_name((unsigned int)o_mode), hook_s);
		return 2;
	}
	if (feat_s)
		o.features = parse_features(feat_s, (unsigned int)hook, o_mode);
	if (!strcmp(split_s, "time"))
		so.test_workloads = "";
	else if (strcmp(split_s, "workload")) {
		fprintf(stderr, "%s: --split '%s': expected workload or time\n", prog, split_s);
		return 2;
	}
	if (fragml_threshold_rule_check(o.threshold_rule, &err)) {
		fprintf(stderr, "%s: --threshold: %s\n", prog, fragml_err_msg(&err));
		return 2;
	}
	if (!strcmp(thr_from, "workloads")) {
		o.threshold_xfit = 1;
	} else if (strcmp(thr_from, "validation")) {
		fprintf(stderr, "%s: --threshold-from '%s': expected validation or workloads\n", prog, thr_from);
		return 2;
	}

	if ((site_table || label_col[0]) && hook != FRAGML_HOOK_LIFETIME) {
		fprintf(stderr, "%s: --%s: lifetime data only (hook %s)\n", prog,
			site_table ? "site-table" : "label", hook_s);
		return 2;
	}
	if (label_col[0] && !strcmp(label_col, "label"))
		label_col[0] = 0;
	ro = (struct fragml_read_opts){ .hook = hook, .label_column = label_col[0] ? label_col : NULL,
					.label_min = label_min };
	for (int i = 0; i < nd; i++) {
		if (fragml_dataset_read_csv(&ds, data[i], &ro, &err)) {
			fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
			goto out;
		}
	}
	if (!ds.n_rows) {
		fprintf(stderr, "%s: no %s rows in the data (hook column)\n", prog, hook_s);
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "%s: %zu %s rows from %d file(s), %u workload(s)\n", prog, ds.n_rows,
			hook_s, nd, ds.n_workloads);
	if (site_table && write_site_table(&ds, site_table))
		goto out;
	/* The kernel passes MISSING for features a hook does not compute. */
	fragml_dataset_mask_features(&ds, fragml_hook_feature_mask((unsigned int)hook, o_mode));
	if (eval_model) {
		ret = eval_main(&ds, (unsigned int)hook, eval_model, report);
		goto out;
	}
	part = malloc(ds.n_rows + 1);
	res = malloc(sizeof(*res));
	if (!part || !res) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (fragml_dataset_split(&ds, &so, part, &err)) {
		fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
		goto out;
	}

	if (do_loo) {
		/* Generalisation: one model per workload, tested on that workload only. */
		loo = json_object_new_array();
		loo_skip = json_object_new_array();
		for (unsigned int w = 0; w < ds.n_workloads && ds.n_workloads > 1; w++) {
			struct fragml_split_opts lso = so;
			struct fragml_train_opts lo = o;
			struct json_object *e;
			char tag[96];
			int rc;

			lso.test_workloads = ds.workloads[w];
			snprintf(tag, sizeof(tag), "hold out %s", ds.workloads[w]);
			lo.progress = progress;
			lo.progress_ctx = tag;
			rc = fragml_dataset_split(&ds, &lso, part, &err);
			if (!rc)
				rc = fragml_train(&ds, part, &lo, res, &err);
			if (rc == -EDOM) {
				/* every positive (or negative) is this workload's: nothing
				 * to train without it; said, not fatal */
				e = json_object_new_object();
				json_object_object_add(e, "workload", json_object_new_string(ds.workloads[w]));
				json_object_object_add(e, "reason", json_object_new_string(fragml_err_msg(&err)));
				json_object_array_add(loo_skip, e);
				continue;
			}
			if (rc) {
				fprintf(stderr, "%s: leave-out %s: %s\n", prog, ds.workloads[w],
					fragml_err_msg(&err));
				goto out;
			}
			e = fragml_metrics_json(&res->m[FRAGML_PART_CROSS]);
			json_object_object_add(e, "workload", json_object_new_string(ds.workloads[w]));
			json_object_object_add(e, "system_recall",
					       res->system[FRAGML_PART_CROSS].n && !isnan(res->system[FRAGML_PART_CROSS].recall) ?
					       json_object_new_double(res->system[FRAGML_PART_CROSS].recall) : NULL);
			json_object_array_add(loo, e);
		}
		if (fragml_dataset_split(&ds, &so, part, &err)) {
			fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
			goto out;
		}
	}

	o.progress = progress;
	o.progress_ctx = "train";
	if (fragml_train(&ds, part, &o, res, &err)) {
		fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
		goto out;
	}
	if (fragml_model_write_file(&res->model, out, &err)) {
		fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(&err));
		goto out;
	}
	if (!quiet) {
		print_table(&ds, &o, res);
		printf("  held-out workloads (cross_workload):");
		for (unsigned int w = 0; w < ds.n_workloads; w++)
			for (size_t r = 0; r < ds.n_rows; r++)
				if (ds.workload[r] == w) {
					if (part[r] == FRAGML_PART_CROSS)
						printf(" %s", ds.workloads[w]);
					break;
				}
		printf("\n");
		if (loo) {
			printf("  leave-one-workload-out (trained without it, tested on it):\n");
			for (size_t i = 0; i < json_object_array_length(loo); i++) {
				struct json_object *e = json_object_array_get_idx(loo, i), *v;
				double f1 = NAN, rec = NAN, auc = NAN, prec = NAN;
				int64_t n = 0, pos = 0;

				if (json_object_object_get_ex(e, "f1", &v) && v) f1 = json_object_get_double(v);
				if (json_object_object_get_ex(e, "recall", &v) && v) rec = json_object_get_double(v);
				if (json_object_object_get_ex(e, "roc_auc", &v) && v) auc = json_object_get_double(v);
				if (json_object_object_get_ex(e, "precision", &v) && v) prec = json_object_get_double(v);
				if (json_object_object_get_ex(e, "rows", &v) && v) n = json_object_get_int64(v);
				if (json_object_object_get_ex(e, "tp", &v) && v) pos += json_object_get_int64(v);
				if (json_object_object_get_ex(e, "fn", &v) && v) pos += json_object_get_int64(v);
				/* the earlier columns keep their place (make-models.sh, report.sh read them) */
				printf("    %-24s f1 %.3f  recall %.3f  auc %.3f  precision %.3f  rows %lld  positive %lld\n",
				       json_object_get_string(json_object_object_get(e, "workload")), f1, rec, auc,
				       prec, (long long)n, (long long)pos);
			}
			for (size_t i = 0; i < json_object_array_length(loo_skip); i++) {
				struct json_object *e = json_object_array_get_idx(loo_skip, i);

				printf("    %-24s not scored: %s\n",
				       json_object_get_string(json_object_object_get(e, "workload")),
				       json_object_get_string(json_object_object_get(e, "reason")));
			}
		}
		fprintf(stderr, "%s: wrote %s (crc32 0x%08x)\n", prog, out, res->model.crc32);
	}
	if (report) {
		rep = fragml_train_report_json(&ds, &o, res);
		json_object_object_add(rep, "model_file", json_object_new_string(out));
		{
			char crc[16];

			snprintf(crc, sizeof(crc), "0x%08x", res->model.crc32);
			json_object_object_add(json_object_object_get(rep, "model"), "crc32",
					       json_object_new_string(crc));
		}
		if (loo)
			json_object_object_add(rep, "leave_one_workload_out", json_object_get(loo));
		if (loo_skip && json_object_array_length(loo_skip))
			json_object_object_add(rep, "leave_one_workload_out_not_scored", json_object_get(loo_skip));
		{
			struct json_object *held = json_object_new_array(), *seen = json_object_new_array();

			for (unsigned int w = 0; w < ds.n_workloads; w++)
				for (size_t r = 0; r < ds.n_rows; r++)
					if (ds.workload[r] == w) {
						json_object_array_add(part[r] == FRAGML_PART_CROSS ? held : seen,
								      json_object_new_string(ds.workloads[w]));
						break;
					}
			json_object_object_add(json_object_object_get(rep, "data"), "seen_workloads", seen);
			json_object_object_add(json_object_object_get(rep, "data"), "held_out_workloads", held);
		}
		if (!strcmp(report, "-")) {
			puts(json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		} else if (json_object_to_file_ext(report, rep, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) {
			fprintf(stderr, "%s: %s: cannot write the report\n", prog, report);
			goto out;
		}
	}
	if (res->parity < min_parity) {
		fprintf(stderr, "%s: quantisation parity %.4f%% below --min-parity %.4f%% (%zu disagreements, see the report)\n",
			prog, 100 * res->parity, 100 * min_parity, res->n_disagree_total);
		goto out;
	}
	ret = 0;
out:
	if (rep)
		json_object_put(rep);
	if (loo)
		json_object_put(loo);
	if (loo_skip)
		json_object_put(loo_skip);
	free(part);
	free(res);
	fragml_dataset_free(&ds);
	return ret;
}
