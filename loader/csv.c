// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection stage: the labelled-dataset CSV writer (docs/dataset.md).
 * The column list is generated from the feature registry (fragml_feature_at),
 * never spelled out here, so the trainer and the collector cannot disagree.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fragml_collect.h"

static const char *const fixed_cols[] = { "ts_ns", "workload", "hook", "class", "source" };
#define N_FIXED (sizeof(fixed_cols) / sizeof(fixed_cols[0]))

static unsigned int n_registered(void)
{
	unsigned int n = 0;

	while (fragml_feature_at(n))
		n++;
	return n;
}

unsigned int fragml_csv_ncolumns(void)
{
	return N_FIXED + n_registered() + 1;
}

int fragml_csv_header(char *buf, size_t cap)
{
	size_t len = 0;
	const struct fragml_feature_desc *d;
	int n;

#define APPEND(s, sep) do {						\
		n = snprintf(buf + len, cap - len, "%s%s", (sep), (s));	\
		if (n < 0 || (size_t)n >= cap - len)			\
			return -ENOSPC;					\
		len += n;						\
	} while (0)
	if (!cap)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned int i = 0; i < N_FIXED; i++)
		APPEND(fixed_cols[i], i ? "," : "");
	for (unsigned int i = 0; (d = fragml_feature_at(i)); i++)
		APPEND(d->name, ",");
	APPEND("label", ",");
#undef APPEND
	return (int)len;
}

/* Free strings must not break the CSV: no quoting, so map the few bad bytes. */
static void sanitize(char *dst, size_t cap, const char *src)
{
	size_t i;

	if (!src || !*src)
		src = "-";
	for (i = 0; i + 1 < cap && src[i]; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = (ch == ',' || ch == '"' || ch < 0x20 || ch == 0x7f) ? '_' : (char)ch;
	}
	dst[i] = '\0';
}

int fragml_csv_open(struct fragml_csv *w, const char *path, const char *workload,
		    const char *extra_cols, struct fragml_err *err)
{
	char hdr[4096];

	memset(w, 0, sizeof(*w));
	if (fragml_csv_header(hdr, sizeof(hdr)) < 0)
		return fragml_err_set(err, -ENOSPC, "%s: CSV header longer than %zu bytes", path,
				      sizeof(hdr));
	w->f = fopen(path, "w");
	if (!w->f)
		return fragml_err_set(err, -errno, "%s: cannot create: %s", path, strerror(errno));
	snprintf(w->path, sizeof(w->path), "%s", path);
	sanitize(w->workload, sizeof(w->workload), workload);
	if (extra_cols && *extra_cols) {
		w->n_extra = 1;
		for (const char *p = extra_cols; *p; p++)
			w->n_extra += *p == ',';
		fprintf(w->f, "%s,%s\n", hdr, extra_cols);
	} else {
		fprintf(w->f, "%s\n", hdr);
	}
	return 0;
}

int fragml_csv_row(struct fragml_csv *w, uint64_t ts_ns, unsigned int hook, const char *cls,
		   const char *source, const int32_t *feat, unsigned int label,
		   const char *extra, struct fragml_err *err)
{
	const struct fragml_feature_desc *d;
	const char *hname = fragml_hook_name(hook);
	char c[32], s[128];

	if (!hname)
		return fragml_err_set(err, -EINVAL, "%s: hook %u is not registered (0..%d)", w->path,
				      hook, FRAGML_NR_HOOKS - 1);
	sanitize(c, sizeof(c), cls);
	sanitize(s, sizeof(s), source);
	fprintf(w->f, "%llu,%s,%s,%s,%s", (unsigned long long)ts_ns, w->workload, hname, c, s);
	for (unsigned int i = 0; (d = fragml_feature_at(i)); i++) {
		int32_t v = feat[d->id & (FRAGML_MAX_FEATURES - 1)];

		if (v == FRAGML_MISSING) {
			fputs(",", w->f);
			continue;
		}
		if (v > FRAGML_FEAT_MAX)
			v = FRAGML_FEAT_MAX;
		if (v < FRAGML_FEAT_MIN)
			v = FRAGML_FEAT_MIN;
		fprintf(w->f, ",%d", v);
	}
	fprintf(w->f, ",%u", label);
	if (w->n_extra) {
		/* extras are numbers or sanitised names joined by ',' by the caller */
		if (extra)
			fprintf(w->f, ",%s", extra);
		else
			for (unsigned int i = 0; i < w->n_extra; i++)
				fputs(",", w->f);
	}
	fputs("\n", w->f);
	w->rows++;
	return 0;
}

int fragml_csv_close(struct fragml_csv *w, struct fragml_err *err)
{
	int bad;

	if (!w->f)
		return 0;
	bad = ferror(w->f);
	if (fclose(w->f) || bad) {
		w->f = NULL;
		return fragml_err_set(err, -EIO, "%s: write failed (disk full?) after %llu rows",
				      w->path, (unsigned long long)w->rows);
	}
	w->f = NULL;
	return 0;
}
