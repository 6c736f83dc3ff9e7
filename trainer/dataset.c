// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collector CSV reader, preprocessing and workload/time splitting
 * (fragml_dataset.h).  Part of libfragml: no XGBoost.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragml_dataset.h"

int fragml_class_is_system(unsigned int cls)
{
	return cls < FRAGML_NR_CLASSES && cls != FRAGML_CLASS_ANON && cls != FRAGML_CLASS_PAGECACHE;
}

const char *fragml_part_name(unsigned int part)
{
	static const char *const n[FRAGML_NR_PARTS] = { "train", "validation", "test", "cross_workload" };

	return part < FRAGML_NR_PARTS ? n[part] : NULL;
}

uint64_t fragml_hook_feature_mask(unsigned int hook, int mode)
{
	uint64_t m = ~0ull;
	int any = 0;

	if (mode >= 0)
		return fragml_hook_mode_features(hook, (unsigned int)mode);
	/* a model usable in every mode that evaluates the hook */
	for (unsigned int md = FRAGML_MODE_OBSERVE; md <= FRAGML_MODE_ENFORCE; md++)
		if (fragml_hook_evaluated(hook, md)) {
			m &= fragml_hook_mode_features(hook, md);
			any = 1;
		}
	return any ? m : 0;
}

static void free_name_index(struct fragml_name_index *ni);

void fragml_dataset_init(struct fragml_dataset *ds)
{
	memset(ds, 0, sizeof(*ds));
}

static void free_names(char **v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void fragml_dataset_free(struct fragml_dataset *ds)
{
	free(ds->x);
	free(ds->label);
	free(ds->site);
	free(ds->outlived);
	free(ds->hook);
	free(ds->cls);
	free(ds->ts_ns);
	free(ds->workload);
	free(ds->source);
	free_names(ds->workloads, ds->n_workloads);
	free_names(ds->sources, ds->n_sources);
	free_name_index(ds->name_index);
	fragml_dataset_init(ds);
}

static int grow(struct fragml_dataset *ds, size_t need)
{
	size_t cap = ds->cap ? ds->cap : 1024;
	void *p;

	if (need <= ds->cap)
		return 0;
	while (cap < need)
		cap *= 2;
#define GROW(field, n) do { \
		p = realloc(ds->field, (n) * sizeof(*ds->field)); \
		if (!p) return -ENOMEM; \
		ds->field = p; \
	} while (0)
	GROW(x, cap * FRAGML_MAX_FEATURES);
	GROW(label, cap);
	GROW(site, cap);
	GROW(outlived, cap);
	GROW(hook, cap);
	GROW(cls, cap);
	GROW(ts_ns, cap);
	GROW(workload, cap);
	GROW(source, cap);
#undef GROW
	ds->cap = cap;
	return 0;
}

/*
 * Name tables (workloads, sources) with an open-addressing hash index each, so
 * reading rows of many distinct names stays linear.  The index holds name
 * index + 1 per slot (0 = empty) and covers the first `n` names of its table;
 * when the table shrank (a failed read drops the names it added) or grew
 * without it, the index is rebuilt from the table.
 */
struct fragml_name_index {
	struct name_hash {
		uint32_t *slot;
		size_t cap;		/* power of two, 0 before first use */
		unsigned int n;		/* names of the table in the index */
	} t[2];
};

static void free_name_index(struct fragml_name_index *ni)
{
	if (ni) {
		free(ni->t[0].slot);
		free(ni->t[1].slot);
		free(ni);
	}
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

static void hash_put(struct name_hash *h, char **tab, unsigned int i)
{
	size_t k = name_hash(tab[i]) & (h->cap - 1);

	while (h->slot[k])
		k = (k + 1) & (h->cap - 1);
	h->slot[k] = i + 1;
}

/* Make the index cover exactly the n names of tab, with room for one more. */
static int hash_sync(struct name_hash *h, char **tab, unsigned int n)
{
	if (h->n > n || (size_t)(n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap : 64;
		uint32_t *slot;

		while ((size_t)(n + 1) * 2 > cap)
			cap *= 2;
		slot = calloc(cap, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		free(h->slot);
		h->slot = slot;
		h->cap = cap;
		h->n = 0;
	}
	for (; h->n < n; h->n++)
		hash_put(h, tab, h->n);
	return 0;
}

/* Index of name in the table, adding it if new; negative errno on failure. */
static long intern(struct fragml_dataset *ds, int which, const char *name)
{
	char ***tab = which ? &ds->sources : &ds->workloads;
	unsigned int *n = which ? &ds->n_sources : &ds->n_workloads;
	struct name_hash *h;
	char **t, *s;
	size_t k;

	if (!ds->name_index && !(ds->name_index = calloc(1, sizeof(*ds->name_index))))
		return -ENOMEM;
	h = &ds->name_index->t[which];
	if (hash_sync(h, *tab, *n))
		return -ENOMEM;
	for (k = name_hash(name) & (h->cap - 1); h->slot[k]; k = (k + 1) & (h->cap - 1))
		if (!strcmp((*tab)[h->slot[k] - 1], name))
			return h->slot[k] - 1;
	if (*n % 16 == 0) {
		t = realloc(*tab, (*n + 16) * sizeof(*t));
		if (!t)
			return -ENOMEM;
		*tab = t;
	}
	s = strdup(name);
	if (!s)
		return -ENOMEM;
	(*tab)[*n] = s;
	h->slot[k] = *n + 1;
	h->n = *n + 1;
	return (*n)++;
}

int fragml_dataset_add_row(struct fragml_dataset *ds, uint64_t ts_ns, const char *workload,
			   unsigned int hook, unsigned int cls, const char *source,
			   const int32_t *feat, unsigned int label, struct fragml_err *err)
{
	size_t r = ds->n_rows;
	long w, s;

	if (hook >= FRAGML_NR_HOOKS || label >= FRAGML_MAX_ACTIONS ||
	    (cls >= FRAGML_NR_CLASSES && cls != FRAGML_CLASS_UNKNOWN))
		return fragml_err_set(err, -EINVAL, "dataset: row %zu: hook %u, class %u or label %u out of range",
				      r, hook, cls, label);
	if (grow(ds, r + 1))
		return fragml_err_set(err, -ENOMEM, "dataset: out of memory at row %zu", r);
	w = intern(ds, 0, workload);
	s = w < 0 ? w : intern(ds, 1, source);
	if (w < 0 || s < 0)
		return fragml_err_set(err, -ENOMEM, "dataset: out of memory at row %zu", r);
	memcpy(ds->x + r * FRAGML_MAX_FEATURES, feat, FRAGML_MAX_FEATURES * sizeof(int32_t));
	ds->label[r] = (uint8_t)label;
	ds->site[r] = 0;
	ds->outlived[r] = (uint8_t)label;
	ds->hook[r] = (uint8_t)hook;
	ds->cls[r] = (uint8_t)cls;
	ds->ts_ns[r] = ts_ns;
	ds->workload[r] = (uint32_t)w;
	ds->source[r] = (uint32_t)s;
	if (label + 1 > ds->n_labels)
		ds->n_labels = label + 1;
	ds->n_rows = r + 1;
	return 0;
}

/* ---- CSV ---- */

/* Split one line in place into cells.  Supports "quoted, cells" with "" as an
 * escaped quote.  Returns the number of cells or -1 if more than max. */
static int split_cells(char *line, char **cells, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *w;

		if (n == max)
			return -1;
		if (*p == '"') {
			w = ++p;
			cells[n++] = w;
			while (*p) {
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			*w = '\0';
			/* skip to the separator */
			while (*p && *p != ',')
				p++;
		} else {
			cells[n++] = p;
			while (*p && *p != ',')
				p++;
		}
		if (*p != ',') {
			*p = '\0';
			return n;
		}
		*p++ = '\0';
	}
}

enum { COL_TS, COL_WORKLOAD, COL_HOOK, COL_CLASS, COL_SOURCE, COL_LABEL, NR_FIXED };
static const char *const fixed_names[NR_FIXED] = { "ts_ns", "workload", "hook", "class", "source",
						   "label" };
#define MAX_COLS 512

static int parse_int(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	while (*end == ' ')
		end++;
	return *end ? -1 : 0;
}

int fragml_dataset_read_csv(struct fragml_dataset *ds, const char *path,
			    const struct fragml_read_opts *opts, struct fragml_err *err)
{
	struct fragml_read_opts defopts = { .hook = -1 };
	int fixed_col[NR_FIXED], feat_col_id[MAX_COLS], site_col, alt_col;
	char *cells[MAX_COLS], *line = NULL;
	size_t linecap = 0, start_rows = ds->n_rows;
	unsigned int start_w = ds->n_workloads, start_s = ds->n_sources, start_labels = ds->n_labels;
	uint64_t start_has = ds->has_column;
	const struct fragml_feature_desc *d;
	int32_t feat[FRAGML_MAX_FEATURES];
	long lineno = 1, n_data = 0;
	int ncols, ret = 0;
	ssize_t len;
	FILE *f;

	if (!opts)
		opts = &defopts;
	f = fopen(path, "re");
	if (!f)
		return fragml_err_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	len = getline(&line, &linecap, f);
	if (len <= 0) {
		ret = fragml_err_set(err, -ENODATA, "%s: empty file: expected a header row (docs/dataset.md)",
				     path);
		goto out;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	ncols = split_cells(line, cells, MAX_COLS);
	if (ncols < 0) {
		ret = fragml_err_set(err, -E2BIG, "%s: header: more than %d columns", path, MAX_COLS);
		goto out;
	}
	for (int k = 0; k < NR_FIXED; k++) {
		fixed_col[k] = -1;
		for (int c = 0; c < ncols; c++)
			if (!strcmp(cells[c], fixed_names[k])) {
				fixed_col[k] = c;
				break;
			}
		if (fixed_col[k] < 0) {
			ret = fragml_err_set(err, -EINVAL, "%s: header: missing column '%s' (required: ts_ns, workload, hook, class, source, <features>, label)",
					     path, fixed_names[k]);
			goto out;
		}
	}
	/* Feature columns: between `source` and `label`. */
	for (int c = 0; c < ncols; c++) {
		feat_col_id[c] = -1;
		if (c <= fixed_col[COL_SOURCE] || c >= fixed_col[COL_LABEL])
			continue;
		d = fragml_feature_by_name(cells[c]);
		if (!d) {
			ret = fragml_err_set(err, -EINVAL, "%s: header column %d: unknown feature '%s' (not in the registry, schema %d; see docs/features.md)",
					     path, c + 1, cells[c], FRAGML_SCHEMA_VERSION);
			goto out;
		}
		for (int c2 = 0; c2 < c; c2++)
			if (feat_col_id[c2] == d->id) {
				ret = fragml_err_set(err, -EINVAL, "%s: header: feature '%s' appears twice (columns %d and %d)",
						     path, d->name, c2 + 1, c + 1);
				goto out;
			}
		feat_col_id[c] = d->id;
		ds->has_column |= 1ull << d->id;
	}
	for (unsigned int i = 0; (d = fragml_feature_at(i)); i++)
		if (!(ds->has_column & (1ull << d->id)) && !opts->allow_missing_columns &&
		    (opts->hook < 0 || (d->hooks & (1u << opts->hook)))) {
			ret = fragml_err_set(err, -EINVAL, "%s: header: missing column '%s' (every registered feature needs a column between 'source' and 'label')",
					     path, d->name);
			goto out;
		}

	site_col = alt_col = -1;
	for (int c = fixed_col[COL_LABEL] + 1; c < ncols; c++) {
		if (!strcmp(cells[c], "site"))
			site_col = c;
		if (opts->label_column && !strcmp(cells[c], opts->label_column))
			alt_col = c;
	}
	if (opts->label_column && alt_col < 0) {
		ret = fragml_err_set(err, -EINVAL, "%s: header: no column '%s' after 'label' (the label asked for; docs/dataset.md)",
				     path, opts->label_column);
		goto out;
	}

	while ((len = getline(&line, &linecap, f)) > 0) {
		long long v, ts, label, alt = 0;
		uint64_t site = 0;
		int n, hook, cls;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		n = split_cells(line, cells, MAX_COLS);
		if (n != ncols) {
			ret = fragml_err_set(err, -EINVAL, "%s:%ld: %d cells, header has %d", path, lineno,
					     n < 0 ? MAX_COLS : n, ncols);
			goto out;
		}
		hook = fragml_hook_from_name(cells[fixed_col[COL_HOOK]]);
		if (hook < 0) {
			if (parse_int(cells[fixed_col[COL_HOOK]], &v) || v < 0 || v >= FRAGML_NR_HOOKS) {
				ret = fragml_err_set(err, -EINVAL, "%s:%ld: column 'hook': '%s' is not a hook (" FRAGML_HOOK_LIST ")",
						     path, lineno, cells[fixed_col[COL_HOOK]]);
				goto out;
			}
			hook = (int)v;
		}
		n_data++;
		if (opts->hook >= 0 && hook != opts->hook)
			continue;
		if (parse_int(cells[fixed_col[COL_TS]], &ts) || ts < 0) {
			ret = fragml_err_set(err, -EINVAL, "%s:%ld: column 'ts_ns': '%s' is not a non-negative integer",
					     path, lineno, cells[fixed_col[COL_TS]]);
			goto out;
		}
		if (parse_int(cells[fixed_col[COL_LABEL]], &label) || label < 0 ||
		    label >= FRAGML_MAX_ACTIONS) {
			ret = fragml_err_set(err, -EINVAL, "%s:%ld: column 'label': '%s' is not an integer 0..%d",
					     path, lineno, cells[fixed_col[COL_LABEL]], FRAGML_MAX_ACTIONS - 1);
			goto out;
		}
		if (alt_col >= 0) {
			if (!cells[alt_col][0])
				continue;	/* censored for this label */
			if (parse_int(cells[alt_col], &alt) || alt < 0 || alt > 1000000) {
				ret = fragml_err_set(err, -EINVAL, "%s:%ld: column '%s': '%s' is not a non-negative integer",
						     path, lineno, opts->label_column, cells[alt_col]);
				goto out;
			}
		}
		if (site_col >= 0 && cells[site_col][0]) {
			char *end;

			errno = 0;
			site = strtoull(cells[site_col], &end, 16);
			if (*end || errno || strlen(cells[site_col]) > 16) {
				ret = fragml_err_set(err, -EINVAL, "%s:%ld: column 'site': '%s' is not a hex site id",
						     path, lineno, cells[site_col]);
				goto out;
			}
		}
		/* Allocation class for per-class metrics; other hooks put other
		 * things here (compaction: the zone name), which are kept as unknown. */
		cls = fragml_class_from_name(cells[fixed_col[COL_CLASS]]);
		if (cls < 0)
			cls = FRAGML_CLASS_UNKNOWN;
		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			feat[k] = FRAGML_MISSING;
		for (int c = 0; c < ncols; c++) {
			if (feat_col_id[c] < 0 || !cells[c][0])
				continue;
			if (parse_int(cells[c], &v)) {
				ret = fragml_err_set(err, -EINVAL, "%s:%ld: column '%s': '%s' is not an integer (features are integers; empty = missing)",
						     path, lineno, fragml_feature_by_id(feat_col_id[c])->name,
						     cells[c]);
				goto out;
			}
			if (v > FRAGML_FEAT_MAX || v < FRAGML_FEAT_MIN) {
				ret = fragml_err_set(err, -ERANGE, "%s:%ld: column '%s': value %lld outside +-%d: not exact in float32 (XGBoost); fix the feature's scale in fragml_features.h",
						     path, lineno, fragml_feature_by_id(feat_col_id[c])->name,
						     v, FRAGML_FEAT_MAX);
				goto out;
			}
			feat[feat_col_id[c]] = (int32_t)v;
		}
		ret = fragml_dataset_add_row(ds, (uint64_t)ts, cells[fixed_col[COL_WORKLOAD]],
					     (unsigned int)hook, (unsigned int)cls,
					     cells[fixed_col[COL_SOURCE]], feat,
					     alt_col >= 0 ? (unsigned int)(alt >= opts->label_min) : (unsigned int)label,
					     err);
		if (ret)
			goto out;
		ds->site[ds->n_rows - 1] = site;
		ds->outlived[ds->n_rows - 1] = (uint8_t)label;
	}
	if (!n_data)
		ret = fragml_err_set(err, -ENODATA, "%s: no data rows after the header", path);
out:
	if (ret) {
		/* Leave the dataset as it was: drop the rows and names we added. */
		ds->n_rows = start_rows;
		for (unsigned int i = start_w; i < ds->n_workloads; i++)
			free(ds->workloads[i]);
		for (unsigned int i = start_s; i < ds->n_sources; i++)
			free(ds->sources[i]);
		ds->n_workloads = start_w;
		ds->n_sources = start_s;
		ds->n_labels = start_labels;
		ds->has_column = start_has;
	}
	free(line);
	fclose(f);
	return ret;
}

static void put_cell(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int fragml_dataset_write_csv(const struct fragml_dataset *ds, const char *path,
			     struct fragml_err *err)
{
	const struct fragml_feature_desc *d;
	FILE *f = fopen(path, "we");

	if (!f)
		return fragml_err_set(err, -errno, "%s: cannot create: %s", path, strerror(errno));
	fputs("ts_ns,workload,hook,class,source", f);
	for (unsigned int i = 0; (d = fragml_feature_at(i)); i++)
		fprintf(f, ",%s", d->name);
	fputs(",label\n", f);
	for (size_t r = 0; r < ds->n_rows; r++) {
		const int32_t *x = ds->x + r * FRAGML_MAX_FEATURES;
		const char *cn = fragml_class_name(ds->cls[r]);

		fprintf(f, "%llu,", (unsigned long long)ds->ts_ns[r]);
		put_cell(f, ds->workloads[ds->workload[r]]);
		fprintf(f, ",%s,%s,", fragml_hook_name(ds->hook[r]), cn ? cn : "-");
		put_cell(f, ds->sources[ds->source[r]]);
		for (unsigned int i = 0; (d = fragml_feature_at(i)); i++) {
			if (x[d->id] == FRAGML_MISSING)
				fputs(",", f);
			else
				fprintf(f, ",%d", x[d->id]);
		}
		fprintf(f, ",%u\n", ds->label[r]);
	}
	if (ferror(f) | fclose(f))
		return fragml_err_set(err, -EIO, "%s: write failed", path);
	return 0;
}

int fragml_dataset_check_float32(const struct fragml_dataset *ds, struct fragml_err *err)
{
	for (size_t r = 0; r < ds->n_rows; r++)
		for (int k = 0; k < FRAGML_MAX_FEATURES; k++) {
			int32_t v = ds->x[r * FRAGML_MAX_FEATURES + k];
			volatile float fv = (float)v;	/* force a real float32 round trip */

			if (v == FRAGML_MISSING)
				continue;
			if (v > FRAGML_FEAT_MAX || v < FRAGML_FEAT_MIN || (int32_t)fv != v) {
				const struct fragml_feature_desc *d = fragml_feature_by_id(k);

				return fragml_err_set(err, -ERANGE, "dataset: row %zu: feature '%s' = %d is not exact in float32 (|x| must be <= %d)",
						      r, d ? d->name : "?", v, FRAGML_FEAT_MAX);
			}
		}
	return 0;
}

void fragml_dataset_mask_features(struct fragml_dataset *ds, uint64_t keep)
{
	for (size_t r = 0; r < ds->n_rows; r++)
		for (int k = 0; k < FRAGML_MAX_FEATURES; k++)
			if (!(keep & (1ull << k)))
				ds->x[r * FRAGML_MAX_FEATURES + k] = FRAGML_MISSING;
}

/* ---- splitting ---- */

static const struct fragml_dataset *sort_ds;
static int cmp_time(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (sort_ds->ts_ns[i] != sort_ds->ts_ns[j])
		return sort_ds->ts_ns[i] < sort_ds->ts_ns[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(sort_ds->workloads[*(const unsigned int *)a],
		      sort_ds->workloads[*(const unsigned int *)b]);
}

int fragml_dataset_split(const struct fragml_dataset *ds, const struct fragml_split_opts *o,
			 uint8_t *part, struct fragml_err *err)
{
	struct fragml_split_opts def = { .test_workloads = NULL, .val_frac = 0.15, .test_frac = 0.20 };
	unsigned int nw = ds->n_workloads, *order;
	uint8_t *held;
	size_t *idx, *start = NULL;
	int ret = 0;

	if (!o)
		o = &def;
	if (o->val_frac < 0 || o->test_frac < 0 || o->val_frac + o->test_frac >= 1.0)
		return fragml_err_set(err, -EINVAL, "split: validation %.2f + test %.2f must leave a training share",
				      o->val_frac, o->test_frac);
	held = calloc(nw + 1, 1);
	order = calloc(nw + 1, sizeof(*order));
	idx = malloc((ds->n_rows + 1) * sizeof(*idx));
	if (!held || !order || !idx) {
		ret = fragml_err_set(err, -ENOMEM, "split: out of memory");
		goto out;
	}
	if (o->test_workloads) {
		const char *p = o->test_workloads;

		/* Every named workload must exist: a typo would silently test nothing. */
		while (*p) {
			const char *e = strchr(p, ',');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			int found = 0;

			for (unsigned int w = 0; w < nw; w++)
				if (strlen(ds->workloads[w]) == l && !strncmp(ds->workloads[w], p, l))
					found = held[w] = 1;
			if (!found && l) {
				ret = fragml_err_set(err, -ENOENT, "split: test workload '%.*s' is not in the dataset",
						     (int)l, p);
				goto out;
			}
			if (!e)
				break;
			p = e + 1;
		}
	} else if (nw >= 2) {
		sort_ds = ds;
		for (unsigned int w = 0; w < nw; w++)
			order[w] = w;
		qsort(order, nw, sizeof(*order), cmp_name);
		for (unsigned int i = 0; i < nw; i++)
			if (i % 4 == (nw - 1) % 4)
				held[order[i]] = 1;
	}
	{
		unsigned int seen = 0;

		for (unsigned int w = 0; w < nw; w++)
			seen += !held[w];
		if (nw && !seen) {
			ret = fragml_err_set(err, -EINVAL, "split: every workload is held out for testing: nothing left to train on");
			goto out;
		}
	}
	/* Rows grouped by workload, in row order (a counting sort): idx[start[w] ..
	 * start[w + 1]) are the rows of workload w. */
	start = calloc(nw + 2, sizeof(*start));
	if (!start) {
		ret = fragml_err_set(err, -ENOMEM, "split: out of memory");
		goto out;
	}
	for (size_t r = 0; r < ds->n_rows; r++)
		if (ds->workload[r] < nw)
			start[ds->workload[r] + 2]++;
	for (unsigned int w = 0; w < nw; w++)
		start[w + 2] += start[w + 1];
	for (size_t r = 0; r < ds->n_rows; r++)
		if (ds->workload[r] < nw)
			idx[start[ds->workload[r] + 1]++] = r;
	sort_ds = ds;
	for (unsigned int w = 0; w < nw; w++) {
		size_t *rows = idx + start[w], n = start[w + 1] - start[w], n_train, n_val;

		if (held[w]) {
			for (size_t i = 0; i < n; i++)
				part[rows[i]] = FRAGML_PART_CROSS;
			continue;
		}
		qsort(rows, n, sizeof(*rows), cmp_time);
		n_train = (size_t)((double)n * (1.0 - o->val_frac - o->test_frac) + 0.5);
		n_val = (size_t)((double)n * o->val_frac + 0.5);
		if (n_train + n_val > n)
			n_val = n - n_train;
		for (size_t i = 0; i < n; i++)
			part[rows[i]] = i < n_train ? FRAGML_PART_TRAIN :
				       i < n_train + n_val ? FRAGML_PART_VAL : FRAGML_PART_TEST;
	}
out:
	free(held);
	free(order);
	free(idx);
	free(start);
	return ret;
}
