// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection stage: the labelled-dataset CSV writer (docs/dataset.md).
 * The column list is generated from the feature registry (fragml_feature_at),
 * never spelled out here, so the trainer and the collector cannot disagree.
 */
#include <errno.h>
#include <stdint.h>
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

/* Decimal digits of v at p (as printf's %llu and %d); returns the end. */
static char *put_u64(char *p, uint64_t v)
{
	char t[20];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static char *put_i32(char *p, int32_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_u64(p, (uint64_t)-(int64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

static char *put_str(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/*
 * The collector writes tens of thousands of rows per second from its ring
 * buffer reader (docs/performance.md, "Stress"): the row is built in one
 * buffer with no printf and written with one fwrite.  Same bytes as
 * "%llu,%s,%s,%s,%s" then ",%d" or "," per feature, ",%u", the extras.
 */
int fragml_csv_row(struct fragml_csv *w, uint64_t ts_ns, unsigned int hook, const char *cls,
		   const char *source, const int32_t *feat, unsigned int label,
		   const char *extra, struct fragml_err *err)
{
	const struct fragml_feature_desc *d;
	const char *hname = fragml_hook_name(hook);
	/* ts, workload (63), hook (< 64), class (31), source (127), 64 features of
	 * at most 11 characters each, label: 1 200 bytes at most before the extras */
	char c[32], s[128], line[2048], *p = line;
	size_t hlen, elen;

	if (!hname)
		return fragml_err_set(err, -EINVAL, "%s: hook %u is not registered (0..%d)", w->path,
				      hook, FRAGML_NR_HOOKS - 1);
	hlen = strnlen(hname, 64);
	sanitize(c, sizeof(c), cls);
	sanitize(s, sizeof(s), source);
	p = put_u64(p, ts_ns);
	*p++ = ',';
	p = put_str(p, w->workload, strlen(w->workload));
	*p++ = ',';
	p = put_str(p, hname, hlen);
	*p++ = ',';
	p = put_str(p, c, strlen(c));
	*p++ = ',';
	p = put_str(p, s, strlen(s));
	for (unsigned int i = 0; i < FRAGML_MAX_FEATURES && (d = fragml_feature_at(i)); i++) {
		int32_t v = feat[d->id & (FRAGML_MAX_FEATURES - 1)];

		*p++ = ',';
		if (v == FRAGML_MISSING)
			continue;
		if (v > FRAGML_FEAT_MAX)
			v = FRAGML_FEAT_MAX;
		if (v < FRAGML_FEAT_MIN)
			v = FRAGML_FEAT_MIN;
		p = put_i32(p, v);
	}
	*p++ = ',';
	p = put_u64(p, label);
	if (w->n_extra) {
		/* extras are numbers or sanitised names joined by ',' by the caller */
		if (extra) {
			elen = strlen(extra);
			if (elen + 2 <= sizeof(line) - (size_t)(p - line)) {
				*p++ = ',';
				p = put_str(p, extra, elen);
			} else {
				fwrite(line, 1, (size_t)(p - line), w->f);
				p = line;
				fputc(',', w->f);
				fputs(extra, w->f);
			}
		} else {
			for (unsigned int i = 0; i < w->n_extra; i++) {
				if (p == line + sizeof(line) - 1) {
					fwrite(line, 1, (size_t)(p - line), w->f);
					p = line;
				}
				*p++ = ',';
			}
		}
	}
	*p++ = '\n';
	fwrite(line, 1, (size_t)(p - line), w->f);
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
