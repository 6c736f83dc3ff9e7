// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Site lifetime tables: fragml-train's per-site counts, in a small text file
 * beside model.bin (the model format is not changed), read back by fragml-load
 * (fragml_model.h, docs/trainer.md "Site table").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragml_model.h"

void fragml_site_counts_free(struct fragml_site_counts *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static int by_site(const void *a, const void *b)
{
	const struct fragml_site_count *x = a, *y = b;

	return x->site < y->site ? -1 : x->site > y->site;
}

int fragml_site_counts_add(struct fragml_site_counts *t, uint64_t site, int outlived)
{
	size_t lo = 0, hi = t->n;
	struct fragml_site_count *c;

	while (lo < hi) {	/* kept sorted: first entry >= site */
		size_t mid = (lo + hi) / 2;

		if (t->e[mid].site < site)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->n || t->e[lo].site != site) {
		if (t->n == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 256;
			struct fragml_site_count *ne = realloc(t->e, nc * sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			t->e = ne;
			t->cap = nc;
		}
		memmove(&t->e[lo + 1], &t->e[lo], (t->n - lo) * sizeof(t->e[0]));
		t->n++;
		memset(&t->e[lo], 0, sizeof(t->e[0]));
		t->e[lo].site = site;
	}
	c = &t->e[lo];
	if (c->allocs < 0x7fffffff) {
		c->allocs++;
		if (outlived)
			c->long_cnt++;
		else
			c->short_cnt++;
	}
	return 0;
}

int fragml_site_table_write(const char *path, struct fragml_site_counts *t, struct fragml_err *err)
{
	FILE *f;

	if (t->n > FRAGML_SITE_TABLE_MAX)
		return fragml_err_set(err, -E2BIG, "%s: %zu sites, the kernel table holds %d", path, t->n,
				      FRAGML_SITE_TABLE_MAX);
	if (t->n)
		qsort(t->e, t->n, sizeof(t->e[0]), by_site);
	f = fopen(path, "we");
	if (!f)
		return fragml_err_set(err, -errno, "%s: cannot write: %s", path, strerror(errno));
	fprintf(f, "%s\nsite,allocs,long,short\n", FRAGML_SITE_TABLE_MAGIC);
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, "%016llx,%u,%u,%u\n", (unsigned long long)t->e[i].site, t->e[i].allocs,
			t->e[i].long_cnt, t->e[i].short_cnt);
	if (fclose(f))
		return fragml_err_set(err, -EIO, "%s: write failed", path);
	return 0;
}

/* A decimal count 0 .. 2^31 - 1, the whole cell. */
static int count_cell(const char *s, uint32_t *v)
{
	unsigned long long x = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		x = x * 10 + (unsigned)(*s - '0');
		if (x > 0x7fffffff)
			return -1;
	}
	*v = (uint32_t)x;
	return 0;
}

int fragml_site_table_read(const char *path, struct fragml_site_counts *t, struct fragml_err *err)
{
	static const char *const col[] = { "site", "allocs", "long", "short" };
	char line[256];
	long lineno = 0;
	int ret = 0;
	FILE *f;

	memset(t, 0, sizeof(*t));
	f = fopen(path, "re");
	if (!f)
		return fragml_err_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *cell[4], *p = line, *nl = strchr(line, '\n');
		struct fragml_site_count c = {};
		int n = 0;

		lineno++;
		if (!nl && !feof(f)) {
			ret = fragml_err_set(err, -EINVAL, "%s:%ld: line longer than %zu bytes", path, lineno,
					     sizeof(line) - 2);
			break;
		}
		if (nl)
			*nl = 0;
		if (lineno == 1 || lineno == 2) {
			const char *want = lineno == 1 ? FRAGML_SITE_TABLE_MAGIC : "site,allocs,long,short";

			if (strcmp(line, want)) {
				ret = fragml_err_set(err, -EINVAL, "%s:%ld: expected '%s' (a site table of fragml-train --site-table)",
						     path, lineno, want);
				break;
			}
			continue;
		}
		for (cell[n++] = p; *p && n <= 4; p++)
			if (*p == ',') {
				*p = 0;
				if (n < 4)
					cell[n] = p + 1;
				n++;
			}
		if (n != 4) {
			ret = fragml_err_set(err, -EINVAL, "%s:%ld: %d cells, expected 4 (site,allocs,long,short)",
					     path, lineno, n);
			break;
		}
		{
			char *end;

			errno = 0;
			c.site = strtoull(cell[0], &end, 16);
			if (strlen(cell[0]) != 16 || *end || errno || !c.site ||
			    strspn(cell[0], "0123456789abcdef") != 16) {
				ret = fragml_err_set(err, -EINVAL, "%s:%ld: column 'site': '%s' is not 16 lowercase hex digits of a non-zero id",
						     path, lineno, cell[0]);
				break;
			}
		}
		if (count_cell(cell[1], &c.allocs) || count_cell(cell[2], &c.long_cnt) ||
		    count_cell(cell[3], &c.short_cnt)) {
			int bad = count_cell(cell[1], &c.allocs) ? 1 : count_cell(cell[2], &c.long_cnt) ? 2 : 3;

			ret = fragml_err_set(err, -EINVAL, "%s:%ld: column '%s': '%s' is not a count 0..2147483647",
					     path, lineno, col[bad], cell[bad]);
			break;
		}
		if (!c.long_cnt && !c.short_cnt) {
			ret = fragml_err_set(err, -EINVAL, "%s:%ld: long + short is 0: a site with no known fate", path, lineno);
			break;
		}
		if ((uint64_t)c.long_cnt + c.short_cnt > c.allocs) {
			ret = fragml_err_set(err, -EINVAL, "%s:%ld: long + short = %llu exceeds allocs %u",
					     path, lineno, (unsigned long long)c.long_cnt + c.short_cnt, c.allocs);
			break;
		}
		if (t->n == FRAGML_SITE_TABLE_MAX) {
			ret = fragml_err_set(err, -E2BIG, "%s:%ld: more than %d sites (the kernel table's size)",
					     path, lineno, FRAGML_SITE_TABLE_MAX);
			break;
		}
		if (t->n == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 256;
			struct fragml_site_count *ne = realloc(t->e, nc * sizeof(*ne));

			if (!ne) {
				ret = fragml_err_set(err, -ENOMEM, "%s: out of memory", path);
				break;
			}
			t->e = ne;
			t->cap = nc;
		}
		t->e[t->n++] = c;
	}
	if (!ret && ferror(f))
		ret = fragml_err_set(err, -EIO, "%s: read error", path);
	if (!ret && lineno < 2)
		ret = fragml_err_set(err, -EINVAL, "%s: %s: expected the line '%s'", path,
				     lineno ? "no header" : "empty file", lineno ? "site,allocs,long,short" : FRAGML_SITE_TABLE_MAGIC);
	fclose(f);
	if (!ret && t->n) {
		qsort(t->e, t->n, sizeof(t->e[0]), by_site);
		for (size_t i = 1; i < t->n; i++)
			if (t->e[i].site == t->e[i - 1].site) {
				ret = fragml_err_set(err, -EINVAL, "%s: site %016llx appears twice", path,
						     (unsigned long long)t->e[i].site);
				break;
			}
	}
	if (ret)
		fragml_site_counts_free(t);
	return ret;
}
