// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection stage: snapshots of memory state from /proc and sysfs, and the
 * pseudo-filesystems the collector needs.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fragml_collect.h"
#include "fragml_load.h"
#include "mono_ns.h"

#define DEBUGFS_MAGIC	0x64626720

static int is_fs(const char *path, long magic)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == magic;
}

int fragml_mount_fs(unsigned int want, unsigned int *mounted, struct fragml_err *err)
{
	static const struct { unsigned int bit; const char *path, *type; long magic; } fs[] = {
		{ FRAGML_MNT_DEBUGFS, "/sys/kernel/debug", "debugfs", DEBUGFS_MAGIC },
		{ FRAGML_MNT_TRACEFS, "/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC },
		{ FRAGML_MNT_BPFFS, FRAGML_DEFAULT_BPFFS, "bpf", BPF_FS_MAGIC },
	};

	*mounted = 0;
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		if (!(want & fs[i].bit) || is_fs(fs[i].path, fs[i].magic))
			continue;
		mkdir(fs[i].path, 0700);
		if (mount(fs[i].type, fs[i].path, fs[i].type, 0, NULL))
			return fragml_err_set(err, -errno, "mount -t %s %s failed: %s (run as root)",
					      fs[i].type, fs[i].path, strerror(errno));
		*mounted |= fs[i].bit;
	}
	return 0;
}

int32_t fragml_unusable_ppk(const uint64_t *nr_free, unsigned int order)
{
	uint64_t total = 0, suitable = 0;

	for (unsigned int o = 0; o < FRAGML_MAX_ORDER_SNAP; o++) {
		total += nr_free[o] << o;
		if (o >= order)
			suitable += nr_free[o] << o;
	}
	return total ? (int32_t)((total - suitable) * 1024 / total) : 0;
}

void fragml_buddyinfo_parse(FILE *f, struct fragml_snapshot *s)
{
	char line[512];

	while (fgets(line, sizeof(line), f) && s->n_zones < FRAGML_MAX_ZONES_SNAP) {
		struct fragml_zone_snap *z = &s->zones[s->n_zones];
		char *p;
		int n, off;

		memset(z, 0, sizeof(*z));
		if (sscanf(line, "Node %d, zone %15s%n", &z->node, z->zone, &off) != 2)
			continue;
		p = line + off;
		for (n = 0; n < FRAGML_MAX_ORDER_SNAP; n++) {
			char *end;
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			z->nr_free[n] = v;
			z->free_pages += v << n;
			if (n >= 9)
				z->free_huge_blocks += v << (n - 9);
			p = end;
		}
		z->unusable_ppk = fragml_unusable_ppk(z->nr_free, 9);
		s->n_zones++;
	}
}

static int read_buddyinfo(struct fragml_snapshot *s, struct fragml_err *err)
{
	FILE *f = fopen("/proc/buddyinfo", "r");

	if (!f)
		return fragml_err_set(err, -errno, "/proc/buddyinfo: %s", strerror(errno));
	fragml_buddyinfo_parse(f, s);
	fclose(f);
	return 0;
}

void fragml_vmstat_read(const char *const *names, size_t n, int64_t *out)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char name[64];
	long long v;

	for (size_t i = 0; i < n; i++)
		out[i] = -1;
	if (!f)
		return;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		for (size_t i = 0; i < n; i++)
			if (!strcmp(name, names[i]))
				out[i] = v;
	fclose(f);
}

static void read_vmstat(struct fragml_snapshot *s)
{
	static const char *const names[] = {
		"thp_fault_alloc", "thp_fault_fallback", "thp_split_page", "compact_stall",
		"compact_fail", "compact_success", "compact_migrate_scanned",
		"compact_free_scanned",
	};
	uint64_t *const fields[] = {
		&s->thp_fault_alloc, &s->thp_fault_fallback, &s->thp_split_page, &s->compact_stall,
		&s->compact_fail, &s->compact_success, &s->compact_migrate_scanned,
		&s->compact_free_scanned,
	};
	int64_t v[sizeof(names) / sizeof(names[0])];

	_Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(fields) / sizeof(fields[0]),
		       "one field per vmstat name");
	fragml_vmstat_read(names, sizeof(names) / sizeof(names[0]), v);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (v[i] >= 0)
			*fields[i] = (uint64_t)v[i];
}

/* Column order follows the header line: the kernel omits types it lacks
 * (the 6.18 host has no CMA column).  Counts are non-negative and their sums
 * must fit: anything else is not the kernel's file. */
int fragml_pagetypeinfo_parse(FILE *f, const char *what, int64_t blocks_by_mt[FRAGML_PB_NR_MT],
			      struct fragml_err *err)
{
	static const char *const mts[FRAGML_PB_NR_MT] = { "Unmovable", "Movable", "Reclaimable", "HighAtomic",
					    "CMA", "Isolate" };
	char line[1024];
	int in_blocks = 0, col_mt[8], ncol = 0;

	for (int i = 0; i < FRAGML_PB_NR_MT; i++)
		blocks_by_mt[i] = -1;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (!strncmp(line, "Number of blocks type", 21)) {
			in_blocks = 1;
			ncol = 0;
			for (char *t = strtok(line + 21, " \n"); t && ncol < 8; t = strtok(NULL, " \n")) {
				col_mt[ncol] = -1;
				for (int i = 0; i < FRAGML_PB_NR_MT; i++)
					if (!strcmp(t, mts[i]))
						col_mt[ncol] = i;
				if (col_mt[ncol] >= 0 && blocks_by_mt[col_mt[ncol]] < 0)
					blocks_by_mt[col_mt[ncol]] = 0;
				ncol++;
			}
			continue;
		}
		if (!in_blocks || strncmp(line, "Node", 4) || !(p = strstr(line, "zone")))
			continue;
		p += 4;
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;	/* zone name */
		for (int i = 0; i < ncol; i++) {
			char *end;
			long long v;

			errno = 0;
			v = strtoll(p, &end, 10);
			if (end == p)
				break;
			if (col_mt[i] >= 0 &&
			    (errno || v < 0 || __builtin_add_overflow(blocks_by_mt[col_mt[i]], v,
								      &blocks_by_mt[col_mt[i]]))) {
				for (int k = 0; k < FRAGML_PB_NR_MT; k++)
					blocks_by_mt[k] = -1;
				return fragml_err_set(err, -ERANGE, "%s: %s block count '%.*s' negative or beyond %lld in sum",
						      what, mts[col_mt[i]], (int)(end - p > 32 ? 32 : end - p), p,
						      (long long)INT64_MAX);
			}
			p = end;
		}
	}
	return 0;
}

int fragml_pagetypeinfo_blocks(int64_t blocks_by_mt[FRAGML_PB_NR_MT], struct fragml_err *err)
{
	FILE *f = fopen("/proc/pagetypeinfo", "r");
	int ret;

	if (!f) {
		for (int i = 0; i < FRAGML_PB_NR_MT; i++)
			blocks_by_mt[i] = -1;
		return fragml_err_set(err, -errno, "/proc/pagetypeinfo: %s", strerror(errno));
	}
	ret = fragml_pagetypeinfo_parse(f, "/proc/pagetypeinfo", blocks_by_mt, err);
	fclose(f);
	return ret;
}

/* "Node 0, zone   Normal 0.000 0.012 ..." -> thousandths per order.  The
 * kernel prints -1.000 .. 1.000; a value outside +-1000 (or not a number)
 * ends the line's values there. */
void fragml_index_parse(FILE *f, struct fragml_snapshot *s, int extfrag)
{
	char line[512], zone[16];
	int node, off;

	while (fgets(line, sizeof(line), f)) {
		struct fragml_zone_snap *z = NULL;
		char *p;

		if (sscanf(line, "Node %d, zone %15s%n", &node, zone, &off) != 2)
			continue;
		for (unsigned int i = 0; i < s->n_zones; i++)
			if (s->zones[i].node == node && !strcmp(s->zones[i].zone, zone))
				z = &s->zones[i];
		if (!z)
			continue;
		p = line + off;
		for (int o = 0; o < FRAGML_MAX_ORDER_SNAP; o++) {
			char *end;
			double v = strtod(p, &end);

			if (end == p || !(v >= -1000.0 && v <= 1000.0))
				break;
			(extfrag ? z->extfrag_index_pm : z->unusable_index_pm)[o] =
				(int32_t)(v * 1000 + (v < 0 ? -0.5 : 0.5));
			p = end;
		}
		z->have_index = 1;
		if (extfrag)
			s->have_extfrag_index = 1;
	}
}

static void read_index_file(struct fragml_snapshot *s, const char *path, int extfrag)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	fragml_index_parse(f, s, extfrag);
	fclose(f);
}

static void read_extfrag_indices(struct fragml_snapshot *s)
{
	unsigned int mounted = 0;

	if (access("/sys/kernel/debug/extfrag", R_OK) &&
	    !fragml_mount_fs(FRAGML_MNT_DEBUGFS, &mounted, NULL))
		s->debugfs_mounted = !!(mounted & FRAGML_MNT_DEBUGFS);
	read_index_file(s, "/sys/kernel/debug/extfrag/unusable_index", 0);
	read_index_file(s, "/sys/kernel/debug/extfrag/extfrag_index", 1);
}

static int mthp_cmp(const void *a, const void *b)
{
	const struct fragml_mthp_snap *x = a, *y = b;

	return x->kb < y->kb ? -1 : x->kb > y->kb;
}

static void read_mthp(struct fragml_snapshot *s)
{
	const char *base = "/sys/kernel/mm/transparent_hugepage";
	DIR *d = opendir(base);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) && s->n_mthp < FRAGML_MTHP_SIZES) {
		struct fragml_mthp_snap *m = &s->mthp[s->n_mthp];
		struct dirent *se;
		unsigned int kb;
		char p[512];
		DIR *sd;

		if (sscanf(de->d_name, "hugepages-%ukB", &kb) != 1)
			continue;
		memset(m, 0, sizeof(*m));
		m->kb = kb;
		snprintf(p, sizeof(p), "%s/%s/stats", base, de->d_name);
		sd = opendir(p);
		while (sd && (se = readdir(sd)) && m->n < FRAGML_MTHP_STATS) {
			unsigned long long v;
			char fp[800];
			FILE *f;

			if (se->d_name[0] == '.')
				continue;
			snprintf(fp, sizeof(fp), "%s/%s", p, se->d_name);
			f = fopen(fp, "r");
			if (!f)
				continue;
			if (fscanf(f, "%llu", &v) == 1) {
				snprintf(m->st[m->n].name, sizeof(m->st[m->n].name), "%s", se->d_name);
				m->st[m->n].v = v;
				m->n++;
				if (!strcmp(se->d_name, "anon_fault_alloc"))
					m->fault_alloc = v;
				else if (!strcmp(se->d_name, "anon_fault_fallback"))
					m->fault_fallback = v;
			}
			fclose(f);
		}
		if (sd)
			closedir(sd);
		s->n_mthp++;
	}
	closedir(d);
	qsort(s->mthp, s->n_mthp, sizeof(s->mthp[0]), mthp_cmp);
}

int fragml_snapshot_take(struct fragml_snapshot *s, bool with_pagetypeinfo,
			 struct fragml_err *err)
{
	static uint64_t last_pagetypeinfo;
	int ret;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < FRAGML_PB_NR_MT; i++)
		s->blocks_by_mt[i] = -1;
	s->ts_ns = loader_mono_ns();
	ret = read_buddyinfo(s, err);
	if (ret)
		return ret;
	read_vmstat(s);
	read_mthp(s);
	read_extfrag_indices(s);
	if (with_pagetypeinfo) {
		if (last_pagetypeinfo && s->ts_ns - last_pagetypeinfo < FRAGML_PAGETYPEINFO_MIN_NS) {
			s->pagetypeinfo_rate_limited = 1;
		} else {
			last_pagetypeinfo = s->ts_ns;
			fragml_pagetypeinfo_blocks(s->blocks_by_mt, NULL);
		}
	}
	return 0;
}

const struct fragml_zone_snap *fragml_snapshot_main_zone(const struct fragml_snapshot *s)
{
	const struct fragml_zone_snap *best = NULL;

	for (unsigned int i = 0; i < s->n_zones; i++)
		if (!best || s->zones[i].free_pages > best->free_pages)
			best = &s->zones[i];
	return best;
}

static json_object *json_i32s(const int32_t *v, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_int(v[i]));
	return a;
}

static json_object *json_u64s(const uint64_t *v, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_uint64(v[i]));
	return a;
}

int fragml_snapshot_json(const struct fragml_snapshot *s, FILE *out)
{
	json_object *o = json_object_new_object(), *zones = json_object_new_array();
	json_object *mt = json_object_new_array(), *mthp = json_object_new_array();
	int ret = -ENOMEM;

	if (!o || !zones || !mt || !mthp)
		goto out;
	json_object_object_add(o, "ts_ns", json_object_new_uint64(s->ts_ns));
	for (unsigned int i = 0; i < s->n_zones; i++) {
		const struct fragml_zone_snap *z = &s->zones[i];
		json_object *zo = json_object_new_object();

		json_object_object_add(zo, "node", json_object_new_int(z->node));
		json_object_object_add(zo, "zone", json_object_new_string(z->zone));
		json_object_object_add(zo, "free_pages", json_object_new_uint64(z->free_pages));
		json_object_object_add(zo, "free_huge_blocks", json_object_new_uint64(z->free_huge_blocks));
		json_object_object_add(zo, "unusable_ppk", json_object_new_int(z->unusable_ppk));
		json_object_object_add(zo, "nr_free", json_u64s(z->nr_free, FRAGML_MAX_ORDER_SNAP));
		if (z->have_index) {
			json_object_object_add(zo, "unusable_index_pm",
					       json_i32s(z->unusable_index_pm, FRAGML_MAX_ORDER_SNAP));
			json_object_object_add(zo, "extfrag_index_pm",
					       json_i32s(z->extfrag_index_pm, FRAGML_MAX_ORDER_SNAP));
		}
		json_object_array_add(zones, zo);
	}
	json_object_object_add(o, "zones", zones);
	zones = NULL;
	json_object_object_add(o, "thp_fault_alloc", json_object_new_uint64(s->thp_fault_alloc));
	json_object_object_add(o, "thp_fault_fallback", json_object_new_uint64(s->thp_fault_fallback));
	json_object_object_add(o, "thp_split_page", json_object_new_uint64(s->thp_split_page));
	json_object_object_add(o, "compact_stall", json_object_new_uint64(s->compact_stall));
	json_object_object_add(o, "compact_fail", json_object_new_uint64(s->compact_fail));
	json_object_object_add(o, "compact_success", json_object_new_uint64(s->compact_success));
	json_object_object_add(o, "extfrag_index", json_object_new_boolean(s->have_extfrag_index));
	json_object_object_add(o, "debugfs_mounted_by_fragml", json_object_new_boolean(s->debugfs_mounted));
	json_object_object_add(o, "pagetypeinfo_rate_limited",
			       json_object_new_boolean(s->pagetypeinfo_rate_limited));
	for (int i = 0; i < FRAGML_PB_NR_MT; i++)
		json_object_array_add(mt, json_object_new_int64(s->blocks_by_mt[i]));
	json_object_object_add(o, "blocks_by_mt", mt);
	mt = NULL;
	for (unsigned int i = 0; i < s->n_mthp; i++) {
		json_object *mo = json_object_new_object(), *st = json_object_new_object();

		json_object_object_add(mo, "kb", json_object_new_int64(s->mthp[i].kb));
		json_object_object_add(mo, "fault_alloc", json_object_new_uint64(s->mthp[i].fault_alloc));
		json_object_object_add(mo, "fault_fallback", json_object_new_uint64(s->mthp[i].fault_fallback));
		for (unsigned int j = 0; j < s->mthp[i].n; j++)
			json_object_object_add(st, s->mthp[i].st[j].name,
					       json_object_new_uint64(s->mthp[i].st[j].v));
		json_object_object_add(mo, "stats", st);
		json_object_array_add(mthp, mo);
	}
	json_object_object_add(o, "mthp", mthp);
	mthp = NULL;
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), out);
	ret = ferror(out) ? -EIO : 0;
out:
	json_object_put(o);
	json_object_put(zones);
	json_object_put(mt);
	json_object_put(mthp);
	return ret;
}
