// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Analysis stage of libfragml: dataset summaries, drift, gnuplot figures (fragml_analyze.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "fragml_analyze.h"
#include "fragml_features.h"

#define PSI_BINS	10
#define PSI_EPS		1e-4
#define KS_C_ALPHA_01	1.628	/* c(alpha) of the two-sample KS test at alpha = 0.01 */

static int pick_hook(const struct fragml_dataset *ds, int hook)
{
	uint64_t n[FRAGML_NR_HOOKS] = { 0 };
	int best = 0;

	if (hook >= 0)
		return hook;
	for (size_t i = 0; i < ds->n_rows; i++)
		if (ds->hook[i] < FRAGML_NR_HOOKS)
			n[ds->hook[i]]++;
	for (int h = 1; h < FRAGML_NR_HOOKS; h++)
		if (n[h] > n[best])
			best = h;
	return best;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_group(const void *a, const void *b)
{
	const struct fragml_group_summary *x = a, *y = b;

	if (x->rows != y->rows)
		return x->rows < y->rows ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Present values of feature `id` in rows of `hook`, sorted.  *n receives the count. */
static double *feature_values(const struct fragml_dataset *ds, int hook, int id, size_t *n)
{
	double *v = malloc((ds->n_rows ? ds->n_rows : 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < ds->n_rows; i++) {
		int32_t x = ds->x[i * FRAGML_MAX_FEATURES + id];

		if (ds->hook[i] == hook && x != FRAGML_MISSING)
			v[(*n)++] = x;
	}
	qsort(v, *n, sizeof(*v), cmp_double);
	return v;
}

static uint64_t hook_rows(const struct fragml_dataset *ds, int hook)
{
	uint64_t n = 0;

	for (size_t i = 0; i < ds->n_rows; i++)
		n += ds->hook[i] == hook;
	return n;
}

/* Features of `hook` that have a column in ds (or in b, when given).  A
 * dataset built in memory (fragml_dataset_add_row) has every column. */
static unsigned int hook_features(const struct fragml_dataset *ds, const struct fragml_dataset *b,
				  int hook, const struct fragml_feature_desc **out)
{
	uint64_t cols = ds->has_column ? ds->has_column : ~0ull;
	const struct fragml_feature_desc *fd;
	unsigned int n = 0;

	if (b)
		cols |= b->has_column ? b->has_column : ~0ull;
	for (unsigned int i = 0; (fd = fragml_feature_at(i)) && n < FRAGML_ANALYZE_MAX_FEATURES; i++) {
		uint64_t bit = 1ull << fd->id;

		if (!(fd->hooks & FRAGML_HOOKBIT(hook)))
			continue;
		if (!(cols & bit))
			continue;
		out[n++] = fd;
	}
	return n;
}

static int groups(const struct fragml_dataset *ds, int hook, int which,
		  struct fragml_group_summary **out, unsigned int *n_out)
{
	unsigned int n = which == 0 ? 256 : which == 1 ? ds->n_workloads : ds->n_sources;
	struct fragml_group_summary *g = calloc(n ? n : 1, sizeof(*g));
	unsigned int used = 0;

	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < ds->n_rows; i++) {
		unsigned int k = which == 0 ? ds->cls[i] : which == 1 ? ds->workload[i] : ds->source[i];

		if (ds->hook[i] != hook || k >= n)
			continue;
		g[k].rows++;
		g[k].positives += ds->label[i] >= 1;
	}
	for (unsigned int k = 0; k < n; k++) {
		const char *name;

		if (!g[k].rows)
			continue;
		if (which == 0)
			name = k == FRAGML_CLASS_UNKNOWN ? "-" : fragml_class_name(k);
		else
			name = which == 1 ? ds->workloads[k] : ds->sources[k];
		g[used] = g[k];
		snprintf(g[used].name, sizeof(g[used].name), "%s", name ? name : "?");
		used++;
	}
	qsort(g, used, sizeof(*g), cmp_group);
	*out = g;
	*n_out = used;
	return 0;
}

static double quantile(const double *v, size_t n, double q)
{
	return n ? v[(size_t)((double)(n - 1) * q + 0.5)] : NAN;
}

int fragml_analyze(const struct fragml_dataset *ds, int hook, struct fragml_analysis *a,
		   struct fragml_err *err)
{
	const struct fragml_feature_desc *fds[FRAGML_ANALYZE_MAX_FEATURES];
	unsigned int nf;

	memset(a, 0, sizeof(*a));
	hook = pick_hook(ds, hook);
	if (hook < 0 || hook >= FRAGML_NR_HOOKS)
		return fragml_err_set(err, -EINVAL, "analyze: unknown hook %d", hook);
	a->hook = hook;
	a->rows = hook_rows(ds, hook);
	if (!a->rows)
		return fragml_err_set(err, -ENODATA, "analyze: the dataset has no row of hook %s",
				      fragml_hook_name((unsigned int)hook));
	for (size_t i = 0; i < ds->n_rows; i++) {
		if (ds->hook[i] != hook)
			continue;
		a->label_rows[ds->label[i] & 7]++;
		if (ds->label[i] + 1u > a->n_labels)
			a->n_labels = ds->label[i] + 1u;
	}
	if (groups(ds, hook, 0, &a->classes, &a->n_classes) ||
	    groups(ds, hook, 1, &a->workloads, &a->n_workloads) ||
	    groups(ds, hook, 2, &a->sources, &a->n_sources)) {
		fragml_analysis_free(a);
		return fragml_err_set(err, -ENOMEM, "analyze: out of memory");
	}
	nf = hook_features(ds, NULL, hook, fds);
	for (unsigned int k = 0; k < nf; k++) {
		struct fragml_feature_summary *s = &a->feat[a->n_features++];
		double sum = 0, sq = 0, sum_l[2] = { 0 }, n_l[2] = { 0 };
		size_t n;
		double *v = feature_values(ds, hook, fds[k]->id, &n);

		if (!v) {
			fragml_analysis_free(a);
			return fragml_err_set(err, -ENOMEM, "analyze: out of memory");
		}
		s->id = fds[k]->id;
		snprintf(s->name, sizeof(s->name), "%s", fds[k]->name);
		s->present = n;
		s->missing = a->rows - n;
		for (size_t i = 0; i < n; i++) {
			sum += v[i];
			sq += v[i] * v[i];
		}
		s->min = n ? v[0] : NAN;
		s->max = n ? v[n - 1] : NAN;
		s->mean = n ? sum / (double)n : NAN;
		s->stddev = n ? sqrt(fmax(0, sq / (double)n - s->mean * s->mean)) : NAN;
		s->p50 = quantile(v, n, 0.5);
		s->p90 = quantile(v, n, 0.9);
		free(v);
		for (size_t i = 0; i < ds->n_rows; i++) {
			int32_t x = ds->x[i * FRAGML_MAX_FEATURES + s->id];
			int l = ds->label[i] >= 1;

			if (ds->hook[i] == hook && x != FRAGML_MISSING) {
				sum_l[l] += x;
				n_l[l]++;
			}
		}
		for (int l = 0; l < 2; l++)
			s->mean_label[l] = n_l[l] ? sum_l[l] / n_l[l] : NAN;
	}
	return 0;
}

void fragml_analysis_free(struct fragml_analysis *a)
{
	if (!a)
		return;
	free(a->classes);
	free(a->workloads);
	free(a->sources);
	a->classes = a->workloads = a->sources = NULL;
}

static double positive_share(const struct fragml_dataset *ds, int hook)
{
	uint64_t n = 0, p = 0;

	for (size_t i = 0; i < ds->n_rows; i++)
		if (ds->hook[i] == hook) {
			n++;
			p += ds->label[i] >= 1;
		}
	return n ? (double)p / (double)n : NAN;
}

/* PSI of B against A: decile bins of A's present values, plus a missing bin. */
static double psi(const double *va, size_t na, uint64_t rows_a, const double *vb, size_t nb,
		  uint64_t rows_b)
{
	double edges[PSI_BINS], pa[PSI_BINS + 2] = { 0 }, pb[PSI_BINS + 2] = { 0 }, s = 0;
	unsigned int ne = 0;

	for (int k = 1; k < PSI_BINS && na; k++) {
		double e = quantile(va, na, (double)k / PSI_BINS);

		if (!ne || e > edges[ne - 1])
			edges[ne++] = e;
	}
	/* bin of v = number of edges < v (sorted input: one pass each) */
	for (int side = 0; side < 2; side++) {
		const double *v = side ? vb : va;
		size_t n = side ? nb : na;
		double *p = side ? pb : pa;
		uint64_t rows = side ? rows_b : rows_a;
		unsigned int bin = 0;

		for (size_t i = 0; i < n; i++) {
			while (bin < ne && edges[bin] < v[i])
				bin++;
			p[bin]++;
		}
		p[PSI_BINS + 1] = (double)(rows - n);	/* missing */
		for (int k = 0; k < PSI_BINS + 2; k++)
			p[k] = rows ? p[k] / (double)rows : 0;
	}
	for (int k = 0; k < PSI_BINS + 2; k++) {
		double a = fmax(pa[k], PSI_EPS), b = fmax(pb[k], PSI_EPS);

		if (pa[k] == 0 && pb[k] == 0)
			continue;
		s += (b - a) * log(b / a);
	}
	return s;
}

static double ks_stat(const double *va, size_t na, const double *vb, size_t nb)
{
	size_t i = 0, j = 0;
	double d = 0;

	if (!na || !nb)
		return na || nb ? 1.0 : 0.0;
	while (i < na && j < nb) {
		double x = va[i] < vb[j] ? va[i] : vb[j];

		while (i < na && va[i] <= x)
			i++;
		while (j < nb && vb[j] <= x)
			j++;
		d = fmax(d, fabs((double)i / (double)na - (double)j / (double)nb));
	}
	return d;
}

int fragml_drift_compute(const struct fragml_dataset *a, const struct fragml_dataset *b, int hook,
			 const struct fragml_drift_opts *o, struct fragml_drift *d,
			 struct fragml_err *err)
{
	const struct fragml_feature_desc *fds[FRAGML_ANALYZE_MAX_FEATURES];
	double psi_thr = o && o->psi_threshold > 0 ? o->psi_threshold : 0.2;
	double ks_min = o && o->ks_min > 0 ? o->ks_min : 0.1;
	unsigned int nf;

	memset(d, 0, sizeof(*d));
	hook = pick_hook(a, hook);
	d->hook = hook;
	d->rows_a = hook_rows(a, hook);
	d->rows_b = hook_rows(b, hook);
	if (!d->rows_a || !d->rows_b)
		return fragml_err_set(err, -ENODATA,
				      "drift: hook %s has %llu rows in the first dataset and %llu in the second: both need rows",
				      fragml_hook_name((unsigned int)hook),
				      (unsigned long long)d->rows_a, (unsigned long long)d->rows_b);
	d->positive_a = positive_share(a, hook);
	d->positive_b = positive_share(b, hook);
	nf = hook_features(a, b, hook, fds);
	for (unsigned int k = 0; k < nf; k++) {
		struct fragml_feature_drift *f = &d->feat[d->n_features];
		size_t na, nb;
		double *va = feature_values(a, hook, fds[k]->id, &na);
		double *vb = feature_values(b, hook, fds[k]->id, &nb);

		if (!va || !vb) {
			free(va);
			free(vb);
			return fragml_err_set(err, -ENOMEM, "drift: out of memory");
		}
		if (na || nb) {
			f->id = fds[k]->id;
			snprintf(f->name, sizeof(f->name), "%s", fds[k]->name);
			f->psi = psi(va, na, d->rows_a, vb, nb, d->rows_b);
			f->ks = ks_stat(va, na, vb, nb);
			f->ks_crit = na && nb ? KS_C_ALPHA_01 * sqrt((double)(na + nb) / ((double)na * (double)nb)) : 0;
			f->missing_a = 1.0 - (double)na / (double)d->rows_a;
			f->missing_b = 1.0 - (double)nb / (double)d->rows_b;
			f->drifted = f->psi >= psi_thr || f->ks > fmax(f->ks_crit, ks_min);
			d->n_drifted += f->drifted;
			d->n_features++;
		}
		free(va);
		free(vb);
	}
	return 0;
}

/* ---- reports ---- */

/* Names come from the CSV: any bytes.  JSON gets them as valid UTF-8. */
static struct json_object *json_string_utf8(const char *s)
{
	size_t cap = strlen(s) * 3 + 1;
	char *buf = malloc(cap);
	struct json_object *o;

	if (!buf)
		return json_object_new_string("?");
	fragml_utf8_clean(buf, cap, s);
	o = json_object_new_string(buf);
	free(buf);
	return o;
}

static struct json_object *jgroups(const struct fragml_group_summary *g, unsigned int n,
				   unsigned int top)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned int i = 0; i < n && (!top || i < top); i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_string_utf8(g[i].name));
		json_object_object_add(o, "rows", json_object_new_int64((int64_t)g[i].rows));
		json_object_object_add(o, "positive_rate",
				       json_object_new_double((double)g[i].positives / (double)g[i].rows));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *jnum(double v)
{
	return isnan(v) ? NULL : json_object_new_double(v);
}

static int print_json(FILE *out, const char *name, const struct fragml_analysis *a,
		      const struct fragml_drift *d, unsigned int top, struct fragml_err *err)
{
	struct json_object *root = json_object_new_object(), *labels = json_object_new_array();
	struct json_object *feats = json_object_new_array();

	json_object_object_add(root, "dataset", json_string_utf8(name));
	json_object_object_add(root, "hook", json_object_new_string(fragml_hook_name((unsigned int)a->hook)));
	json_object_object_add(root, "rows", json_object_new_int64((int64_t)a->rows));
	for (unsigned int l = 0; l < a->n_labels && l < 8; l++) {
		struct json_object *o = json_object_new_object();
		const char *an = fragml_action_name((unsigned int)a->hook, l);

		json_object_object_add(o, "label", json_object_new_int((int)l));
		json_object_object_add(o, "name", json_string_utf8(an ? an : "?"));
		json_object_object_add(o, "rows", json_object_new_int64((int64_t)a->label_rows[l]));
		json_object_object_add(o, "share",
				       json_object_new_double((double)a->label_rows[l] / (double)a->rows));
		json_object_array_add(labels, o);
	}
	json_object_object_add(root, "labels", labels);
	json_object_object_add(root, "classes", jgroups(a->classes, a->n_classes, 0));
	json_object_object_add(root, "workloads", jgroups(a->workloads, a->n_workloads, 0));
	json_object_object_add(root, "sources", jgroups(a->sources, a->n_sources, top));
	for (unsigned int k = 0; k < a->n_features; k++) {
		const struct fragml_feature_summary *s = &a->feat[k];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_string_utf8(s->name));
		json_object_object_add(o, "present", json_object_new_int64((int64_t)s->present));
		json_object_object_add(o, "missing", json_object_new_int64((int64_t)s->missing));
		json_object_object_add(o, "min", jnum(s->min));
		json_object_object_add(o, "p50", jnum(s->p50));
		json_object_object_add(o, "mean", jnum(s->mean));
		json_object_object_add(o, "stddev", jnum(s->stddev));
		json_object_object_add(o, "p90", jnum(s->p90));
		json_object_object_add(o, "max", jnum(s->max));
		json_object_object_add(o, "mean_label0", jnum(s->mean_label[0]));
		json_object_object_add(o, "mean_label1", jnum(s->mean_label[1]));
		json_object_array_add(feats, o);
	}
	json_object_object_add(root, "features", feats);
	if (d) {
		struct json_object *jd = json_object_new_object(), *df = json_object_new_array();

		json_object_object_add(jd, "rows_b", json_object_new_int64((int64_t)d->rows_b));
		json_object_object_add(jd, "positive_rate_a", jnum(d->positive_a));
		json_object_object_add(jd, "positive_rate_b", jnum(d->positive_b));
		json_object_object_add(jd, "features_drifted", json_object_new_int((int)d->n_drifted));
		json_object_object_add(jd, "features_compared", json_object_new_int((int)d->n_features));
		for (unsigned int k = 0; k < d->n_features; k++) {
			const struct fragml_feature_drift *f = &d->feat[k];
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_string_utf8(f->name));
			json_object_object_add(o, "psi", json_object_new_double(f->psi));
			json_object_object_add(o, "ks", json_object_new_double(f->ks));
			json_object_object_add(o, "ks_crit", json_object_new_double(f->ks_crit));
			json_object_object_add(o, "missing_a", json_object_new_double(f->missing_a));
			json_object_object_add(o, "missing_b", json_object_new_double(f->missing_b));
			json_object_object_add(o, "drifted", json_object_new_boolean(f->drifted));
			json_object_array_add(df, o);
		}
		json_object_object_add(jd, "features", df);
		json_object_object_add(root, "drift", jd);
	}
	if (fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY)) < 0) {
		json_object_put(root);
		return fragml_err_set(err, -EIO, "analyze: write failed");
	}
	json_object_put(root);
	return 0;
}

static void print_groups(FILE *out, const char *title, const struct fragml_group_summary *g,
			 unsigned int n, uint64_t rows, unsigned int top)
{
	fprintf(out, "\n%s (%u)%s:\n  %-40s %10s %7s %9s\n", title, n,
		top && n > top ? " - top by rows" : "", "name", "rows", "share", "positive");
	for (unsigned int i = 0; i < n && (!top || i < top); i++)
		fprintf(out, "  %-40s %10llu %6.1f%% %8.1f%%\n", g[i].name, (unsigned long long)g[i].rows,
			100.0 * (double)g[i].rows / (double)rows,
			100.0 * (double)g[i].positives / (double)g[i].rows);
}

int fragml_analysis_print(FILE *out, const char *name, const struct fragml_analysis *a,
			  const struct fragml_drift *d, unsigned int top, bool json,
			  struct fragml_err *err)
{
	if (json)
		return print_json(out, name, a, d, top, err);
	fprintf(out, "dataset %s: %llu rows of hook %s, %u classes, %u workloads, %u sources\n", name,
		(unsigned long long)a->rows, fragml_hook_name((unsigned int)a->hook), a->n_classes,
		a->n_workloads, a->n_sources);
	fprintf(out, "\nlabel balance:\n");
	for (unsigned int l = 0; l < a->n_labels && l < 8; l++) {
		const char *an = fragml_action_name((unsigned int)a->hook, l);

		fprintf(out, "  label %u %-22s %10llu %6.1f%%\n", l, an ? an : "?",
			(unsigned long long)a->label_rows[l],
			100.0 * (double)a->label_rows[l] / (double)a->rows);
	}
	print_groups(out, "per class", a->classes, a->n_classes, a->rows, 0);
	print_groups(out, "per workload", a->workloads, a->n_workloads, a->rows, 0);
	print_groups(out, "per source", a->sources, a->n_sources, a->rows, top);
	fprintf(out, "\nper feature:\n  %-18s %8s %10s %10s %10s %10s %10s %10s %11s %11s\n", "feature",
		"missing", "min", "p50", "mean", "stddev", "p90", "max", "mean|lbl0", "mean|lbl>=1");
	for (unsigned int k = 0; k < a->n_features; k++) {
		const struct fragml_feature_summary *s = &a->feat[k];

		fprintf(out, "  %-18s %7.1f%% %10.6g %10.6g %10.6g %10.6g %10.6g %10.6g %11.6g %11.6g\n",
			s->name, 100.0 * (double)s->missing / (double)a->rows, s->min, s->p50, s->mean,
			s->stddev, s->p90, s->max, s->mean_label[0], s->mean_label[1]);
	}
	if (d) {
		fprintf(out, "\ndrift against the second dataset (%llu rows; positive rate %.1f%% -> %.1f%%):\n"
			"  %-18s %8s %8s %8s %9s %9s  %s\n",
			(unsigned long long)d->rows_b, 100 * d->positive_a, 100 * d->positive_b, "feature",
			"PSI", "KS", "KS crit", "missing A", "missing B", "verdict");
		for (unsigned int k = 0; k < d->n_features; k++) {
			const struct fragml_feature_drift *f = &d->feat[k];

			fprintf(out, "  %-18s %8.4f %8.4f %8.4f %8.1f%% %8.1f%%  %s\n", f->name, f->psi,
				f->ks, f->ks_crit, 100 * f->missing_a, 100 * f->missing_b,
				f->drifted ? "DRIFT" : "ok");
		}
		fprintf(out, "drift: %u of %u features drifted\n", d->n_drifted, d->n_features);
	}
	return ferror(out) ? fragml_err_set(err, -EIO, "analyze: write failed") : 0;
}

/* ---- gnuplot ---- */

static FILE *open_in(const char *dir, const char *name, struct fragml_err *err)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		fragml_err_set(err, -errno, "%s: cannot write: %s", p, strerror(errno));
	return f;
}

/* Gnuplot-safe label: no quotes, spaces or underscores (enhanced text). */
static const char *plot_label(const char *s, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		buf[i] = (s[i] == '"' || s[i] == ' ' || s[i] == '\t' || s[i] == '_' || s[i] == '\\' ||
			  s[i] == '^' || s[i] == '{' || s[i] == '}') ? '-' : s[i];
	buf[i] = 0;
	return buf;
}

static int close_checked(FILE *f, const char *dir, const char *name, struct fragml_err *err)
{
	if (ferror(f) | fclose(f))
		return fragml_err_set(err, -EIO, "%s/%s: write failed", dir, name);
	return 0;
}

#define PNG_TERM "set terminal pngcairo size 1000,600 noenhanced\n"

static int plot_labels(const char *dir, const struct fragml_analysis *an, struct fragml_err *err)
{
	FILE *d = open_in(dir, "labels.dat", err), *g;
	char buf[64];

	if (!d)
		return -errno;
	fprintf(d, "# class negatives positives\n");
	for (unsigned int i = 0; i < an->n_classes; i++)
		fprintf(d, "\"%s\" %llu %llu\n", plot_label(an->classes[i].name, buf, sizeof(buf)),
			(unsigned long long)(an->classes[i].rows - an->classes[i].positives),
			(unsigned long long)an->classes[i].positives);
	if (close_checked(d, dir, "labels.dat", err))
		return err ? err->code : -EIO;
	g = open_in(dir, "labels.gp", err);
	if (!g)
		return -errno;
	fprintf(g, PNG_TERM "set output 'labels.png'\n"
		"set title 'label balance per class (hook %s, %llu rows)'\n"
		"set style data histograms\nset style histogram rowstacked\nset style fill solid 0.8 border -1\n"
		"set boxwidth 0.7\nset ylabel 'rows'\nset xtics rotate by -30\nset key top right\n"
		"plot 'labels.dat' using 2:xtic(1) title 'label 0 (%s)', '' using 3 title 'label >= 1 (%s)'\n",
		fragml_hook_name((unsigned int)an->hook), (unsigned long long)an->rows,
		fragml_action_name((unsigned int)an->hook, 0) ?: "0",
		fragml_action_name((unsigned int)an->hook, 1) ?: "1");
	return close_checked(g, dir, "labels.gp", err);
}

static int plot_sources(const char *dir, const struct fragml_analysis *an, struct fragml_err *err)
{
	FILE *d = open_in(dir, "sources.dat", err), *g;
	char buf[64];

	if (!d)
		return -errno;
	fprintf(d, "# source rows positive_rate\n");
	for (unsigned int i = 0; i < an->n_sources && i < 20; i++)
		fprintf(d, "\"%s\" %llu %.4f\n", plot_label(an->sources[i].name, buf, sizeof(buf)),
			(unsigned long long)an->sources[i].rows,
			(double)an->sources[i].positives / (double)an->sources[i].rows);
	if (close_checked(d, dir, "sources.dat", err))
		return err ? err->code : -EIO;
	g = open_in(dir, "sources.gp", err);
	if (!g)
		return -errno;
	fprintf(g, PNG_TERM "set output 'sources.png'\n"
		"set title 'top sources by rows, and their positive-label rate'\n"
		"set style fill solid 0.7 border -1\nset boxwidth 0.6\nset xtics rotate by -40\n"
		"set ylabel 'rows'\nset y2label 'positive rate'\nset y2range [0:1]\nset y2tics\nset ytics nomirror\n"
		"plot 'sources.dat' using 0:2:xtic(1) with boxes title 'rows', "
		"'' using 0:3 axes x1y2 with linespoints pt 7 title 'positive rate'\n");
	return close_checked(g, dir, "sources.gp", err);
}

/* Per-feature histograms by label: one data block per feature. */
static int plot_features(const char *dir, const struct fragml_dataset *ds,
			 const struct fragml_analysis *an, struct fragml_err *err)
{
	FILE *d = open_in(dir, "features.dat", err), *g;
	unsigned int shown = 0, cols;

	if (!d)
		return -errno;
	for (unsigned int k = 0; k < an->n_features; k++) {
		const struct fragml_feature_summary *s = &an->feat[k];
		uint64_t h[2][20] = { { 0 } };
		double lo = s->min, width;

		if (!s->present)
			continue;
		width = (s->max - lo) / 20.0;
		if (width <= 0)
			width = 1;
		for (size_t i = 0; i < ds->n_rows; i++) {
			int32_t x = ds->x[i * FRAGML_MAX_FEATURES + s->id];
			int bin;

			if (ds->hook[i] != an->hook || x == FRAGML_MISSING)
				continue;
			bin = (int)((x - lo) / width);
			bin = bin < 0 ? 0 : bin > 19 ? 19 : bin;
			h[ds->label[i] >= 1][bin]++;
		}
		fprintf(d, "# %s\n", s->name);
		for (int b = 0; b < 20; b++)
			fprintf(d, "%g %llu %llu\n", lo + (b + 0.5) * width, (unsigned long long)h[0][b],
				(unsigned long long)h[1][b]);
		fprintf(d, "\n\n");
		shown++;
	}
	if (close_checked(d, dir, "features.dat", err))
		return err ? err->code : -EIO;
	g = open_in(dir, "features.gp", err);
	if (!g)
		return -errno;
	cols = shown > 9 ? 4 : 3;
	fprintf(g, "set terminal pngcairo size 1400,%u noenhanced\nset output 'features.png'\n"
		"set multiplot layout %u,%u title 'feature histograms by label (hook %s)'\n"
		"set style fill transparent solid 0.5\nset key off\nset format y '%%.0s%%c'\nset format x '%%.3g'\nset xtics font ',7'\n",
		300 * ((shown + cols - 1) / (cols ? cols : 1) + 0), (shown + cols - 1) / cols, cols,
		fragml_hook_name((unsigned int)an->hook));
	shown = 0;
	for (unsigned int k = 0; k < an->n_features; k++) {
		if (!an->feat[k].present)
			continue;
		fprintf(g, "set title '%s'\nplot 'features.dat' index %u using 1:2 with boxes lc rgb '#3060c0', "
			"'' index %u using 1:3 with boxes lc rgb '#d04020'\n", an->feat[k].name, shown, shown);
		shown++;
	}
	fprintf(g, "unset multiplot\n");
	return close_checked(g, dir, "features.gp", err);
}

static int plot_drift(const char *dir, const struct fragml_drift *dr, struct fragml_err *err)
{
	FILE *d = open_in(dir, "drift.dat", err), *g;
	char buf[64];

	if (!d)
		return -errno;
	fprintf(d, "# feature psi ks ks_crit\n");
	for (unsigned int k = 0; k < dr->n_features; k++)
		fprintf(d, "\"%s\" %.6f %.6f %.6f\n", plot_label(dr->feat[k].name, buf, sizeof(buf)),
			dr->feat[k].psi, dr->feat[k].ks, dr->feat[k].ks_crit);
	if (close_checked(d, dir, "drift.dat", err))
		return err ? err->code : -EIO;
	g = open_in(dir, "drift.gp", err);
	if (!g)
		return -errno;
	fprintf(g, PNG_TERM "set output 'drift.png'\n"
		"set title 'drift of the second dataset against the first: %u of %u features drifted'\n"
		"set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
		"set xtics rotate by -40\nset ylabel 'statistic'\nset logscale y\nset yrange [0.0001:*]\n"
		"plot 'drift.dat' using ($2+0.0001):xtic(1) title 'PSI', '' using ($3+0.0001) title 'KS', "
		"0.2 with lines dt 2 lc rgb 'black' title 'PSI 0.2'\n",
		dr->n_drifted, dr->n_features);
	return close_checked(g, dir, "drift.gp", err);
}

int fragml_analyze_plots(const char *outdir, const struct fragml_dataset *a,
			 const struct fragml_analysis *an, const struct fragml_dataset *b,
			 const struct fragml_drift *d, char scripts[][32], int max,
			 struct fragml_err *err)
{
	static const char *names[] = { "labels.gp", "sources.gp", "features.gp", "drift.gp" };
	int n = 0, ret;

	(void)b;
	if (mkdir(outdir, 0755) && errno != EEXIST)
		return fragml_err_set(err, -errno, "%s: cannot create the output directory: %s", outdir,
				      strerror(errno));
	for (int i = 0; i < 4; i++) {
		if (i == 3 && !d)
			break;
		ret = i == 0 ? plot_labels(outdir, an, err) :
		      i == 1 ? plot_sources(outdir, an, err) :
		      i == 2 ? plot_features(outdir, a, an, err) : plot_drift(outdir, d, err);
		if (ret)
			return ret;
		if (n < max)
			snprintf(scripts[n], 32, "%s", names[i]);
		n++;
	}
	return n < max ? n : max;
}
