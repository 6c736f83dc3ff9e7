// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collection and identification selftests on the running (stock) kernel:
 *   csv_schema           the writer's header is the one docs/dataset.md documents,
 *                        rows have that many cells, missing = empty
 *   slab_files           N created files show up as dentry + inode slab objects of
 *                        the creating task
 *   lifetime_labels      pipes freed at 0.1 s are labelled 0, pipes held 2.5 s are 1 (T = 1 s)
 *   extfrag_attributed   fallbacks caused by a task's unmovable burst are attributed to it
 *   lost_events          a ring buffer too small for a burst reports the loss
 *   dataset_schema       a real run's CSVs parse: cell count, integer bounds, labels 0/1
 *   snapshot_fields      debugfs extfrag indices, mTHP stats, pagetypeinfo (rate-limited)
 *                        are read and agree with their sources; the JSON parses
 *   stacks_symbolised    --stacks: the pipe-writing child's top stack names the kernel's
 *                        pipe write function (anon_pipe_write / pipe_write)
 *   filter_pid_cgroup    --pid / --cgroup: only the followed task's pipe pages become rows
 *   pageblock_scan       the scan's block counts per migratetype match /proc/pagetypeinfo;
 *                        held pipe pages are seen as class pipe in the scan
 *   gate_collect_refused --gate without an attached fallback gate (a stock kernel) fails
 *                        naming the missing pin; an exploration rate above 10^6 ppm is refused
 *   site_stable_online   the pipe pages of one program get one non-empty site in two of
 *                        its processes; site_long_ppk rises online while that site's
 *                        pages outlive T and falls when they stop; another program on
 *                        the same kernel path starts with its site unseen but its
 *                        path's record known (path_long_ppk), and its pages move the
 *                        path's record, not the first program's site
 *   life_class_consistent life_class agrees with life_ms on every row of a real run, and
 *                        pollutes = 1 only on rows its definition allows
 *   pollutes_label       the labeller, fed collector records: fallbacks from a movable
 *                        block alive at a need moment pollute; claimed, unmixed, freed
 *                        before the moment or allocated after it do not
 *   region_exits         fed records: an exit ends its process's live 2 MB regions only
 *                        (a reused tgid's later regions live on), among 200 short processes
 *   u64map_ops           the reader's hash table against a plain one under random
 *                        puts and deletes; its size follows its keys, not its tombstones
 * The collector's programs are private (nothing pinned), so a live fragml
 * install is not touched.  Each test SKIPs with a reason when the kernel or the
 * user cannot run it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kselftest_harness.h"

#include "testlib.h"

#include "fragml_collect.h"
#include "fragml_load.h"
#include "collect_internal.h"	/* the labeller, fed records directly (pollutes_label) */

static char docs_path[PATH_MAX];

static void find_docs(void)
{
	char top[PATH_MAX];

	tl_topdir(top, sizeof(top));
	snprintf(docs_path, sizeof(docs_path), "%s/docs/dataset.md", top);
}

static const char *why_cannot_collect(void)
{
	if (geteuid())
		return "needs root (BPF tracing programs)";
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "kernel has no BTF (/sys/kernel/btf/vmlinux)";
	return NULL;
}

static int open_collector(struct fragml_collector **c, const char *dir, unsigned int rb_kb,
			  double T, struct fragml_err *err)
{
	struct fragml_collect_opts o;

	fragml_collect_opts_default(&o);
	o.outdir = dir;
	o.workload = "selftest";
	o.lifetime_T_s = T;
	if (rb_kb)
		o.ringbuf_kb = rb_kb;
	return fragml_collect_open(c, &o, err);
}

static void mk_tmpdir(char *d, size_t n, const char *tag)
{
	snprintf(d, n, "/tmp/fragml-test-%s.XXXXXX", tag);
	if (!mkdtemp(d))
		d[0] = 0;
}

static void rm_tree(const char *d)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd))
		return;
}

/* Count data rows of `csv` matching `cls` and `src_prefix`, by label. */
static void count_rows(const char *csv, const char *cls, const char *src_prefix, long *l0, long *l1)
{
	FILE *f = fopen(csv, "r");
	char line[8192];
	int label_col = -1, col;

	*l0 = *l1 = 0;
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		col = 0;
		for (char *t = strtok(line, ",\n"); t; t = strtok(NULL, ",\n"), col++)
			if (!strcmp(t, "label"))
				label_col = col;
	}
	while (fgets(line, sizeof(line), f)) {
		char *cells[128];
		int n = 0;
		char *s = line;

		for (char *p = line; n < 128; p++) {
			if (*p == ',' || *p == '\n' || !*p) {
				int end = !*p || *p == '\n';

				*p = 0;
				cells[n++] = s;
				s = p + 1;
				if (end)
					break;
			}
		}
		if (n <= label_col || strcmp(cells[3], cls) || strncmp(cells[4], src_prefix, strlen(src_prefix)))
			continue;
		if (atoi(cells[label_col]))
			(*l1)++;
		else
			(*l0)++;
	}
	fclose(f);
}

TEST(csv_schema)
{
	char hdr[4096], line[8192], dir[PATH_MAX], path[PATH_MAX + 32];
	struct fragml_csv w;
	struct fragml_err err = {};
	int32_t feat[FRAGML_MAX_FEATURES];
	int found = 0, commas = 0;
	FILE *f;

	ASSERT_GT(fragml_csv_header(hdr, sizeof(hdr)), 0);
	/* starts with the fixed columns, ends with label, one column per feature */
	ASSERT_EQ(0, strncmp(hdr, "ts_ns,workload,hook,class,source,", 33));
	ASSERT_EQ(0, strcmp(hdr + strlen(hdr) - 6, ",label"));
	for (char *p = hdr; *p; p++)
		commas += *p == ',';
	ASSERT_EQ((int)fragml_csv_ncolumns() - 1, commas);
	for (unsigned int i = 0; fragml_feature_at(i); i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), ",%s,", fragml_feature_at(i)->name);
		ASSERT_NE(NULL, strstr(hdr, needle)) TH_LOG("feature %s missing", needle);
	}
	/* docs/dataset.md shows the lifetime header byte for byte */
	find_docs();
	f = fopen(docs_path, "r");
	if (!f)
		SKIP(return, "%s not found (run from the build tree)", docs_path);
	snprintf(line, sizeof(line), "%s,block_mt,life_ms,pfn,site,life_class,pollutes\n", hdr);
	{
		char doc[8192];

		while (fgets(doc, sizeof(doc), f))
			if (!strcmp(doc, line))
				found = 1;
	}
	fclose(f);
	ASSERT_TRUE(found) TH_LOG("docs/dataset.md does not contain the generated header:\n%s", line);

	/* a row: missing -> empty cell, out-of-range clamped, strings sanitised */
	mk_tmpdir(dir, sizeof(dir), "csv");
	ASSERT_NE(0, dir[0]);
	snprintf(path, sizeof(path), "%s/t.csv", dir);
	ASSERT_EQ(0, fragml_csv_open(&w, path, "wl,1", "a,b", &err));
	for (int i = 0; i < FRAGML_MAX_FEATURES; i++)
		feat[i] = FRAGML_MISSING;
	feat[FRAGML_F_ORDER] = 3;
	feat[FRAGML_F_GFP_BITS] = 1 << 30;
	ASSERT_EQ(0, fragml_csv_row(&w, 42, FRAGML_HOOK_LIFETIME, "pipe", "a\"b,c:1", feat, 1, "7,8", &err));
	ASSERT_EQ(0, fragml_csv_close(&w, &err));
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	fclose(f);
	commas = 0;
	for (char *p = line; *p; p++)
		commas += *p == ',';
	ASSERT_EQ((int)fragml_csv_ncolumns() - 1 + 2, commas);
	{
		static const char want[] = "42,wl_1,lifetime,pipe,a_b_c:1,3,,";

		ASSERT_EQ(0, strncmp(line, want, sizeof(want) - 1)) TH_LOG("row: %s", line);
	}
	ASSERT_NE(NULL, strstr(line, ",16777215,"));	/* gfp clamped to FRAGML_FEAT_MAX */
	ASSERT_NE(NULL, strstr(line, ",1,7,8\n"));
	rm_tree(dir);
}

TEST(slab_files)
{
	const char *why = why_cannot_collect();
	struct fragml_collector *c = NULL;
	struct fragml_err err = {};
	char dir[PATH_MAX], files[PATH_MAX], p[PATH_MAX + 32];
	const int N = 3000;
	uint64_t dentries, inodes, other;

	if (why)
		SKIP(return, "%s", why);
	mk_tmpdir(dir, sizeof(dir), "slab");
	mk_tmpdir(files, sizeof(files), "files");
	ASSERT_EQ(0, open_collector(&c, dir, 0, 10, &err)) TH_LOG("%s", fragml_err_msg(&err));
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "%s/f%d", files, i);
		int fd = open(p, O_CREAT | O_WRONLY, 0600);

		ASSERT_GE(fd, 0);
		close(fd);
	}
	dentries = fragml_collect_slab_objs(c, getpid(), "dentry");
	inodes = fragml_collect_slab_objs(c, getpid(), "inode");
	other = fragml_collect_slab_objs(c, getpid() + 1000000, "dentry");
	fragml_collect_close(c);
	rm_tree(files);
	rm_tree(dir);
	TH_LOG("created %d files: %llu dentries, %llu inodes attributed to this task", N,
	       (unsigned long long)dentries, (unsigned long long)inodes);
	ASSERT_GE(dentries, (uint64_t)N);
	ASSERT_GE(inodes, (uint64_t)N);
	ASSERT_LT(dentries, (uint64_t)N * 4);	/* attributed to us, not everyone */
	ASSERT_EQ(0, other);
}

/* Child: 64 pipes holding a page closed after 0.1 s, 64 held for 2.5 s. */
static void pipes_child(void)
{
	int shortp[64][2], longp[64][2];
	char page[4096];

	prctl(PR_SET_NAME, "fragml-lt-test");
	memset(page, 'p', sizeof(page));
	usleep(300000);
	for (int i = 0; i < 64; i++) {
		if (pipe(shortp[i]) || pipe(longp[i]))
			_exit(2);
		if (write(shortp[i][1], page, sizeof(page)) != sizeof(page) ||
		    write(longp[i][1], page, sizeof(page)) != sizeof(page))
			_exit(3);
	}
	usleep(100000);
	for (int i = 0; i < 64; i++) {
		close(shortp[i][0]);
		close(shortp[i][1]);
	}
	usleep(2500000);
	for (int i = 0; i < 64; i++) {
		close(longp[i][0]);
		close(longp[i][1]);
	}
	_exit(0);
}

/* A 4 s collection (T = 1 s) around pipes_child(): the child's pid, or -1 (err says why). */
static pid_t collect_pipes(const char *dir, struct fragml_collect_stats *st, int *status,
			   struct fragml_err *err)
{
	struct fragml_collector *c = NULL;
	struct fragml_collect_opts o;
	pid_t pid;

	fragml_collect_opts_default(&o);
	o.outdir = dir;
	o.workload = "selftest";
	o.lifetime_T_s = 1;
	o.duration_s = 4;
	if (fragml_collect_open(&c, &o, err))
		return -1;
	pid = fork();
	if (pid == 0)
		pipes_child();
	if (pid < 0 || fragml_collect_run(c, st, err)) {
		fragml_collect_close(c);
		if (pid > 0)
			waitpid(pid, status, 0);
		return -1;
	}
	fragml_collect_close(c);
	waitpid(pid, status, 0);
	return pid;
}

TEST(lifetime_labels)
{
	const char *why = why_cannot_collect();
	struct fragml_collect_stats st;
	struct fragml_err err = {};
	char dir[PATH_MAX], csv[PATH_MAX + 32], src[64];
	long l0, l1;
	pid_t pid;
	int status = 0;

	if (why)
		SKIP(return, "%s", why);
	mk_tmpdir(dir, sizeof(dir), "lt");
	pid = collect_pipes(dir, &st, &status, &err);
	ASSERT_LT(0, pid) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(csv, sizeof(csv), "%s/lifetime.csv", dir);
	snprintf(src, sizeof(src), "fragml-lt-test:%d", pid);
	count_rows(csv, "pipe", src, &l0, &l1);
	TH_LOG("pipe pages of %s: %ld short (label 0), %ld long (label 1); lost %llu", src, l0, l1,
	       (unsigned long long)st.lost);
	if (st.lost)
		SKIP(goto out, "%llu events lost: labels incomplete", (unsigned long long)st.lost);
	/* 64 short-lived and 64 long-lived pipe pages; slack for pipe-internal pages */
	ASSERT_GE(l0, 60);
	ASSERT_LE(l0, 80);
	ASSERT_GE(l1, 60);
	ASSERT_LE(l1, 80);
out:
	rm_tree(dir);
}

/* Child: burst of unmovable pipe pages (1 MB pipes) large enough to exhaust the
 * free unmovable pageblocks, so the allocator has to fall back. */
static void extfrag_child(int mb)
{
	static char buf[1 << 20];
	int fds[2];

	prctl(PR_SET_NAME, "fragml-xf-test");
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < mb; i++) {
		if (pipe(fds))
			break;
		fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
		if (write(fds[1], buf, sizeof(buf)) < 0)
			break;
	}
	usleep(500000);
	_exit(0);
}

TEST(extfrag_attributed)
{
	const char *why = why_cannot_collect();
	struct fragml_collector *c = NULL;
	struct fragml_collect_opts o;
	struct fragml_collect_stats st;
	struct fragml_err err = {};
	char dir[PATH_MAX];
	uint64_t mine;
	pid_t pid;
	int status;

	if (why)
		SKIP(return, "%s", why);
	mk_tmpdir(dir, sizeof(dir), "xf");
	fragml_collect_opts_default(&o);
	o.outdir = dir;
	o.workload = "selftest";
	o.duration_s = 2.5;
	ASSERT_EQ(0, fragml_collect_open(&c, &o, &err)) TH_LOG("%s", fragml_err_msg(&err));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct rlimit r = { 4096, 4096 };

		setrlimit(RLIMIT_NOFILE, &r);
		/* unmovable pages beyond the free unmovable pageblocks, freed at exit */
		extfrag_child(tl_fallback_burst_mb(768, 2048));
	}
	ASSERT_EQ(0, fragml_collect_run(c, &st, &err)) TH_LOG("%s", fragml_err_msg(&err));
	mine = fragml_collect_extfrag_of(c, pid);
	fragml_collect_close(c);
	waitpid(pid, &status, 0);
	rm_tree(dir);
	TH_LOG("extfrag events: %llu in total, %llu attributed to the burst task %d",
	       (unsigned long long)st.extfrag, (unsigned long long)mine, pid);
	if (!st.extfrag)
		SKIP(return, "no migratetype fallback happened: free unmovable pageblocks sufficed");
	ASSERT_GT(mine, 0);
}

TEST(lost_events)
{
	const char *why = why_cannot_collect();
	struct fragml_collector *c = NULL;
	struct fragml_collect_opts o;
	struct fragml_collect_stats st;
	struct fragml_err err = {};
	char dir[PATH_MAX], path[PATH_MAX + 32], buf[4096];
	size_t len = 64 << 20;
	char *mem;
	FILE *f;
	size_t n;

	if (why)
		SKIP(return, "%s", why);
	mk_tmpdir(dir, sizeof(dir), "lost");
	fragml_collect_opts_default(&o);
	o.outdir = dir;
	o.workload = "self\"test";	/* a quote: summary.json stays JSON */
	o.ringbuf_kb = 64;	/* ~2000 fault records */
	o.duration_s = 0.2;
	ASSERT_EQ(0, fragml_collect_open(&c, &o, &err)) TH_LOG("%s", fragml_err_msg(&err));
	/* 16384 user faults before anyone consumes the ring */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	for (size_t off = 0; off < len; off += 4096)
		mem[off] = 1;
	ASSERT_EQ(0, fragml_collect_run(c, &st, &err)) TH_LOG("%s", fragml_err_msg(&err));
	fragml_collect_close(c);
	munmap(mem, len);
	prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
	TH_LOG("%llu records consumed, %llu lost", (unsigned long long)st.events,
	       (unsigned long long)st.lost);
	ASSERT_GT(st.lost, 1000);
	ASSERT_GT(st.events, 0);
	/* and it is in summary.json, never silent */
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	snprintf(path, sizeof(path), "\"lost\":%llu", (unsigned long long)st.lost);
	ASSERT_NE(NULL, strstr(buf, path)) TH_LOG("summary.json lacks %s", path);
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	{
		json_object *root = json_object_from_file(path), *w;

		ASSERT_NE(NULL, root) TH_LOG("summary.json is not JSON: %s", json_util_get_last_err());
		ASSERT_TRUE(json_object_object_get_ex(root, "workload", &w));
		/* the name as the CSVs carry it (their writer replaces the quote) */
		EXPECT_STREQ("self_test", json_object_get_string(w));
		json_object_put(root);
	}
	rm_tree(dir);
}

/* Every row of every CSV of a real run has the documented shape. */
TEST(dataset_schema)
{
	static const char *const files[] = { "lifetime.csv", "thp_fault.csv", "compaction.csv" };
	const char *why = why_cannot_collect();
	struct fragml_collector *c = NULL;
	struct fragml_collect_opts o;
	struct fragml_collect_stats st;
	struct fragml_err err = {};
	char dir[PATH_MAX], path[PATH_MAX + 32], line[8192];
	/* auxiliary columns per file (docs/dataset.md) */
	static const unsigned int n_aux[] = { 6, 3, 3 };
	unsigned int ncol;
	long rows = 0;
	pid_t pid;

	if (why)
		SKIP(return, "%s", why);
	mk_tmpdir(dir, sizeof(dir), "ds");
	fragml_collect_opts_default(&o);
	o.outdir = dir;
	o.workload = "selftest";
	o.duration_s = 2;
	o.lifetime_T_s = 0.5;
	ASSERT_EQ(0, fragml_collect_open(&c, &o, &err)) TH_LOG("%s", fragml_err_msg(&err));
	pid = fork();
	if (pid == 0) {
		char *m = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int fds[2];

		for (int i = 0; m != MAP_FAILED && i < (8 << 20); i += 4096)
			m[i] = 1;
		for (int i = 0; i < 200; i++)
			if (!pipe(fds) && write(fds[1], line, 4096) < 0)
				break;
		usleep(1500000);
		_exit(0);
	}
	ASSERT_EQ(0, fragml_collect_run(c, &st, &err)) TH_LOG("%s", fragml_err_msg(&err));
	fragml_collect_close(c);
	waitpid(pid, NULL, 0);
	for (int h = 0; h < 3; h++) {
		FILE *f;
		long lno = 0;

		snprintf(path, sizeof(path), "%s/%s", dir, files[h]);
		ncol = fragml_csv_ncolumns() + n_aux[h];
		f = fopen(path, "r");
		ASSERT_NE(NULL, f);
		while (fgets(line, sizeof(line), f)) {
			unsigned int n = 1, col = 0;
			char *p = line, *cell = line;

			lno++;
			for (char *q = line; *q; q++)
				n += *q == ',';
			ASSERT_EQ(ncol, n) TH_LOG("%s:%ld: %u cells, want %u", files[h], lno, n, ncol);
			if (lno == 1)
				continue;
			rows++;
			for (; ; p++) {
				if (*p != ',' && *p != '\n' && *p)
					continue;
				char save = *p;

				*p = 0;
				if (col == 2)
					ASSERT_STREQ(fragml_hook_name(h), cell);
				if (col >= 5 && col < fragml_csv_ncolumns() - 1 && *cell) {
					char *end;
					long v = strtol(cell, &end, 10);

					ASSERT_EQ(0, *end) TH_LOG("%s:%ld col %u: '%s' not an integer", files[h], lno, col, cell);
					ASSERT_LE(labs(v), FRAGML_FEAT_MAX);
				}
				if (col == fragml_csv_ncolumns() - 1)
					ASSERT_TRUE(!strcmp(cell, "0") || !strcmp(cell, "1"));
				if (!save || save == '\n')
					break;
				cell = p + 1;
				col++;
			}
		}
		fclose(f);
	}
	TH_LOG("%ld rows checked (lifetime %llu, thp_fault %llu, compaction %llu)", rows,
	       (unsigned long long)st.rows[0], (unsigned long long)st.rows[1],
	       (unsigned long long)st.rows[2]);
	ASSERT_GT(st.rows[0], 0);
	ASSERT_GT(st.rows[1], 0);
	rm_tree(dir);
}

TEST(snapshot_fields)
{
	struct fragml_snapshot a, b;
	const struct fragml_zone_snap *z;
	struct fragml_err err = {};
	char *buf = NULL;
	size_t len = 0;
	json_object *root;
	FILE *f;

	if (geteuid())
		SKIP(return, "needs root (debugfs, pagetypeinfo)");
	ASSERT_EQ(0, fragml_snapshot_take(&a, true, &err)) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_EQ(0, fragml_snapshot_take(&b, true, &err));
	ASSERT_GT(a.n_zones, 0);
	z = fragml_snapshot_main_zone(&a);
	ASSERT_NE(NULL, z);
	/* pagetypeinfo: read once, the immediate second read is rate-limited */
	ASSERT_FALSE(a.pagetypeinfo_rate_limited);
	ASSERT_GT(a.blocks_by_mt[FRAGML_MT_MOVABLE], 0);
	ASSERT_TRUE(b.pagetypeinfo_rate_limited);
	ASSERT_EQ(-1, b.blocks_by_mt[FRAGML_MT_MOVABLE]);
	/* debugfs indices: the kernel's unusable index at order 9 is the one we
	 * compute from buddyinfo (1024ths vs 1000ths, both read a moment apart) */
	if (!a.have_extfrag_index) {
		TH_LOG("no debugfs extfrag indices (CONFIG_DEBUG_FS or COMPACTION off?)");
	} else {
		ASSERT_TRUE(z->have_index);
		ASSERT_LE(abs(z->unusable_index_pm[9] - z->unusable_ppk * 1000 / 1024), 60)
			TH_LOG("unusable index order 9: debugfs %d/1000, buddyinfo %d/1024",
			       z->unusable_index_pm[9], z->unusable_ppk);
		for (int o = 0; o < FRAGML_MAX_ORDER_SNAP; o++) {
			ASSERT_GE(z->unusable_index_pm[o], 0);
			ASSERT_LE(z->unusable_index_pm[o], 1000);
			ASSERT_TRUE(z->extfrag_index_pm[o] == -1000 ||
				    (z->extfrag_index_pm[o] >= 0 && z->extfrag_index_pm[o] <= 1000));
		}
	}
	/* mTHP: the 2 MB size's anon_fault_alloc is the sysfs value */
	f = fopen("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/stats/anon_fault_alloc", "r");
	if (f) {
		unsigned long long v = 0;
		int found = 0;

		ASSERT_EQ(1, fscanf(f, "%llu", &v));
		fclose(f);
		for (unsigned int i = 0; i < a.n_mthp; i++)
			if (a.mthp[i].kb == 2048) {
				found = 1;
				ASSERT_LE(a.mthp[i].fault_alloc, v);
				ASSERT_GE(a.mthp[i].n, 2);
			}
		ASSERT_TRUE(found);
	}
	/* the JSON form parses and carries the new fields */
	f = open_memstream(&buf, &len);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, fragml_snapshot_json(&a, f));
	fclose(f);
	root = json_tokener_parse(buf);
	ASSERT_NE(NULL, root) TH_LOG("bad JSON: %.200s", buf);
	{
		json_object *zones, *o;

		ASSERT_TRUE(json_object_object_get_ex(root, "zones", &zones));
		ASSERT_TRUE(json_object_object_get_ex(root, "mthp", &o));
		ASSERT_TRUE(json_object_object_get_ex(root, "pagetypeinfo_rate_limited", &o));
		if (a.have_extfrag_index) {
			int any = 0;

			for (size_t i = 0; i < json_object_array_length(zones); i++)
				any |= json_object_object_get_ex(json_object_array_get_idx(zones, i),
								 "unusable_index_pm", &o);
			ASSERT_TRUE(any);
		}
	}
	json_object_put(root);
	free(buf);
}

static void pipes_only_child(void)
{
	int fds[128][2];
	char page[4096];

	prctl(PR_SET_NAME, "fragml-st-test");
	memset(page, 's', sizeof(page));
	usleep(200000);
	for (int i = 0; i < 128; i++)
		if (pipe(fds[i]) || write(fds[i][1], page, sizeof(page)) != sizeof(page))
			_exit(2);
	usleep(800000);
	_exit(0);
}

TEST(stacks_symbolised)
{
	const char *why = why_cannot_collect();
	struct fragml_collector *c = NULL;
	struct fragml_collect_opts o;
	struct fragml_collect_stats st;
	struct fragml_err err = {};
	char dir[PATH_MAX], path[PATH_MAX + 32], src[64];
	json_object *root, *stacks;
	int found_src = 0, found_fn = 0;
	pid_t pid;

	if (why)
		SKIP(return, "%s", why);
	mk_tmpdir(dir, sizeof(dir), "st");
	fragml_collect_opts_default(&o);
	o.outdir = dir;
	o.workload = "selftest";
	o.duration_s = 1.5;
	o.stacks = true;
	ASSERT_EQ(0, fragml_collect_open(&c, &o, &err)) TH_LOG("%s", fragml_err_msg(&err));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		pipes_only_child();
	ASSERT_EQ(0, fragml_collect_run(c, &st, &err)) TH_LOG("%s", fragml_err_msg(&err));
	fragml_collect_close(c);
	waitpid(pid, NULL, 0);
	snprintf(path, sizeof(path), "%s/summary.json", dir);
	root = json_object_from_file(path);
	ASSERT_NE(NULL, root);
	ASSERT_TRUE(json_object_object_get_ex(root, "stacks", &stacks));
	ASSERT_TRUE(json_object_is_type(stacks, json_type_array)) TH_LOG("stacks: %s",
		json_object_to_json_string(stacks));
	snprintf(src, sizeof(src), "fragml-st-test:%d", pid);
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i), *v, *top;

		if (!json_object_object_get_ex(s, "source", &v) || strcmp(json_object_get_string(v), src))
			continue;
		json_object_object_get_ex(s, "class", &v);
		if (strcmp(json_object_get_string(v), "pipe"))
			continue;
		found_src = 1;
		ASSERT_TRUE(json_object_object_get_ex(s, "top", &top));
		for (size_t k = 0; k < json_object_array_length(top); k++) {
			json_object *fr;

			json_object_object_get_ex(json_object_array_get_idx(top, k), "frames", &fr);
			for (size_t d = 0; d < json_object_array_length(fr); d++) {
				const char *name = json_object_get_string(json_object_array_get_idx(fr, d));

				TH_LOG("%s", name);
				if (!strncmp(name, "anon_pipe_write+0x", 18) || !strncmp(name, "pipe_write+0x", 13))
					found_fn = 1;
			}
		}
	}
	json_object_put(root);
	rm_tree(dir);
	if (st.lost && !found_src)
		SKIP(return, "%llu records lost", (unsigned long long)st.lost);
	ASSERT_TRUE(found_src) TH_LOG("no pipe stacks for %s in summary.json", src);
	ASSERT_TRUE(found_fn) TH_LOG("no anon_pipe_write/pipe_write frame in the pipe stacks");
}

/* Child: waits for a byte on `go`, then 64 pipes holding a page for 1 s. */
static void filter_child(const char *name, int go)
{
	int fds[64][2];
	char page[4096], b;

	prctl(PR_SET_NAME, name);
	memset(page, 'f', sizeof(page));
	if (read(go, &b, 1) != 1)
		_exit(1);
	for (int i = 0; i < 64; i++)
		if (pipe(fds[i]) || write(fds[i][1], page, sizeof(page)) != sizeof(page))
			_exit(2);
	usleep(1000000);
	_exit(0);
}

/* Count lifetime rows whose source names the task "<name>:<tgid>" (any class,
 * slab rows "slab:<cache>:<name>:<tgid>" included). */
static long rows_of(const char *dir, const char *name)
{
	char csv[PATH_MAX + 32], needle[64], line[8192];
	long n = 0;
	FILE *f;

	snprintf(csv, sizeof(csv), "%s/lifetime.csv", dir);
	snprintf(needle, sizeof(needle), ",%s:", name);
	f = fopen(csv, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *src = line;

		for (int i = 0; i < 4 && src; i++)	/* cell 4 is the source */
			src = strchr(src + 1, ',');
		if (src && (!strncmp(src, needle, strlen(needle)) ||
			    (!strncmp(src, ",slab:", 6) && strstr(src, needle + 1) &&
			     strstr(src, needle + 1) < strchr(src + 1, ','))))
			n++;
	}
	fclose(f);
	return n;
}

/* Runs A and B; follows A by pid, or by cgroup when `cg` is given (A is moved there). */
static void run_filtered(struct __test_metadata *_metadata, const char *cg, long *ra, long *rb)
{
	struct fragml_collector *c = NULL;
	struct fragml_collect_opts o;
	struct fragml_collect_stats st;
	struct fragml_err err = {};
	char dir[PATH_MAX];
	int go[2];
	pid_t a, b;

	mk_tmpdir(dir, sizeof(dir), "flt");
	ASSERT_EQ(0, pipe(go));
	a = fork();
	if (a == 0)
		filter_child("fragml-flt-a", go[0]);
	b = fork();
	if (b == 0)
		filter_child("fragml-flt-b", go[0]);
	if (cg) {
		char procs[PATH_MAX + 32];
		FILE *f;

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
		f = fopen(procs, "w");
		ASSERT_NE(NULL, f);
		fprintf(f, "%d\n", a);
		ASSERT_EQ(0, fclose(f));
	}
	fragml_collect_opts_default(&o);
	o.outdir = dir;
	o.workload = "selftest";
	o.duration_s = 1.5;
	if (cg)
		o.cgroup = cg;
	else
		o.target_tgid = a;
	ASSERT_EQ(0, fragml_collect_open(&c, &o, &err)) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_EQ(2, write(go[1], "gg", 2));
	ASSERT_EQ(0, fragml_collect_run(c, &st, &err)) TH_LOG("%s", fragml_err_msg(&err));
	fragml_collect_close(c);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	*ra = rows_of(dir, "fragml-flt-a");
	*rb = rows_of(dir, "fragml-flt-b");
	TH_LOG("%s filter: %ld rows of A, %ld of B, %llu rows in all", cg ? "cgroup" : "pid", *ra, *rb,
	       (unsigned long long)st.rows[0]);
	/* nobody else: every row is A's (its pipe pages, page tables, slab pages) */
	ASSERT_EQ((long)st.rows[0], *ra);
	rm_tree(dir);
	close(go[0]);
	close(go[1]);
}

TEST(filter_pid_cgroup)
{
	const char *why = why_cannot_collect();
	char cg[PATH_MAX] = "";
	long ra, rb;

	if (why)
		SKIP(return, "%s", why);
	run_filtered(_metadata, NULL, &ra, &rb);
	ASSERT_GE(ra, 60);	/* 64 pipe pages */
	ASSERT_EQ(0, rb);
	/* a fresh memory cgroup: v1 memory hierarchy, else the v2 root */
	if (!access("/sys/fs/cgroup/memory/cgroup.procs", W_OK))
		snprintf(cg, sizeof(cg), "/sys/fs/cgroup/memory/fragml-test-%d", getpid());
	else if (!access("/sys/fs/cgroup/cgroup.controllers", R_OK))
		snprintf(cg, sizeof(cg), "/sys/fs/cgroup/fragml-test-%d", getpid());
	if (!cg[0] || mkdir(cg, 0755))
		SKIP(return, "cannot create a memory cgroup (%s): %s", cg[0] ? cg : "no cgroup fs",
		     strerror(errno));
	run_filtered(_metadata, cg, &ra, &rb);
	rmdir(cg);
	ASSERT_GE(ra, 60);
	ASSERT_EQ(0, rb);
}

/* Child: pipe scatter (4096 pipes each holding one page), held 2 s. */
static void pipe_scatter_child(int wfd)
{
	static int fds[4096][2];
	char page[4096];
	int n = 0;

	prctl(PR_SET_NAME, "fragml-pb-test");
	memset(page, 'b', sizeof(page));
	for (; n < 4096; n++)
		if (pipe(fds[n]) || write(fds[n][1], page, sizeof(page)) != sizeof(page))
			break;
	if (write(wfd, &n, sizeof(n)) != sizeof(n))
		_exit(1);
	usleep(2000000);
	_exit(0);
}

TEST(pageblock_scan)
{
	const char *why = why_cannot_collect();
	struct fragml_pageblock_scan s;
	struct fragml_collector *c = NULL;
	struct fragml_err err = {};
	int64_t pti0[6], pti[6];
	char dir[PATH_MAX];
	int p[2], n = 0, ret;
	pid_t pid;

	if (why)
		SKIP(return, "%s", why);
	fragml_pagetypeinfo_blocks(pti0, NULL);
	ret = fragml_pageblock_scan(&s, -1, &err);
	if (ret == -ENOENT || ret == -ENOTSUP || ret == -EFAULT)
		SKIP(return, "%s", fragml_err_msg(&err));
	ASSERT_EQ(0, ret) TH_LOG("%s", fragml_err_msg(&err));
	/* pagetypeinfo read once before (pti0) and after the scan (pti): memory can be
	 * onlined on these VMs meanwhile, so the scan must fall between the two */
	fragml_pagetypeinfo_blocks(pti, NULL);
	TH_LOG("scan: %llu blocks (%u bits each) in %.2fs: unmovable %llu movable %llu reclaimable %llu; pagetypeinfo %lld/%lld/%lld; mixed %llu",
	       (unsigned long long)s.blocks, s.nr_pageblock_bits, s.elapsed_s,
	       (unsigned long long)s.blocks_by_mt[0], (unsigned long long)s.blocks_by_mt[1],
	       (unsigned long long)s.blocks_by_mt[2], (long long)pti[0], (long long)pti[1], (long long)pti[2],
	       (unsigned long long)s.mixed);
	/* the migratetypes read from the pageblock bits are the kernel's own counts
	 * (racy by a few blocks: pagetypeinfo is read a moment later) */
	for (int mt = FRAGML_MT_UNMOVABLE; mt <= FRAGML_MT_RECLAIMABLE; mt++) {
		if (pti[mt] < 0 || pti0[mt] < 0)
			continue;
		long long lo = pti0[mt] < pti[mt] ? pti0[mt] : pti[mt];
		long long hi = pti0[mt] > pti[mt] ? pti0[mt] : pti[mt];
		long long tol = 8 + hi / 50;

		ASSERT_GE((long long)s.blocks_by_mt[mt], lo - tol)
			TH_LOG("migratetype %d: scan %llu, pagetypeinfo %lld..%lld", mt,
			       (unsigned long long)s.blocks_by_mt[mt], lo, hi);
		ASSERT_LE((long long)s.blocks_by_mt[mt], hi + tol)
			TH_LOG("migratetype %d: scan %llu, pagetypeinfo %lld..%lld", mt,
			       (unsigned long long)s.blocks_by_mt[mt], lo, hi);
	}
	ASSERT_GT(s.blocks_by_mt[FRAGML_MT_MOVABLE], 0);

	/* held pipe pages, tracked by the collector, are classed `pipe` */
	mk_tmpdir(dir, sizeof(dir), "pb");
	ASSERT_EQ(0, open_collector(&c, dir, 0, 10, &err)) TH_LOG("%s", fragml_err_msg(&err));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct rlimit r = { 10000, 10000 };

		setrlimit(RLIMIT_NOFILE, &r);
		pipe_scatter_child(p[1]);
	}
	ASSERT_EQ((ssize_t)sizeof(n), read(p[0], &n, sizeof(n)));
	ret = fragml_pageblock_scan(&s, fragml_collect_live_fd(c), &err);
	waitpid(pid, NULL, 0);
	fragml_collect_close(c);
	rm_tree(dir);
	ASSERT_EQ(0, ret) TH_LOG("%s", fragml_err_msg(&err));
	TH_LOG("%d pipes held: %llu tracked pages, %llu pipe pages seen, %llu of them in a block of another migratetype (%llu mixed blocks with pipe pages of %llu mixed)",
	       n, (unsigned long long)s.tracked_pages,
	       (unsigned long long)s.pages_by_class[FRAGML_CLASS_PIPE],
	       (unsigned long long)s.wrong_pages_by_class[FRAGML_CLASS_PIPE],
	       (unsigned long long)s.mixed_by_class[FRAGML_CLASS_PIPE], (unsigned long long)s.mixed);
	ASSERT_GE(n, 1000);
	ASSERT_GE(s.pages_by_class[FRAGML_CLASS_PIPE], (uint64_t)n * 9 / 10);
	ASSERT_LE(s.mixed_by_class[FRAGML_CLASS_PIPE], s.mixed);
	/* a pipe page in a block of another migratetype makes that block mixed, class pipe */
	ASSERT_EQ(!!s.wrong_pages_by_class[FRAGML_CLASS_PIPE], !!s.mixed_by_class[FRAGML_CLASS_PIPE]);
	if (!s.wrong_pages_by_class[FRAGML_CLASS_PIPE])
		TH_LOG("no pipe page fell back into a movable block (free unmovable blocks sufficed): the mixed-by-pipe count needs memory pressure, e.g. the 1 GB guest");
}

/* The /proc and debugfs parsers on text the kernel never writes (fuzz findings):
 * no overflow, no undefined conversion, sensible results. */
static FILE *text(const char *s)
{
	return fmemopen((void *)s, strlen(s), "r");
}

TEST(proc_parsers_hostile_text)
{
	static const char zones[] = "Node 0, zone   Normal   10 5 0 0 0 0 0 0 0 1 2\n";
	static const char pti_ok[] =
		"Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate\n"
		"Node 0, zone      DMA            3            5            0            0            0\n"
		"Node 0, zone   Normal           40         7000           12            1            0\n";
	static const char pti_sum[] =
		"Number of blocks type     Unmovable      Movable\n"
		"Node 0, zone      DMA 9223372036854775807 1\n"
		"Node 0, zone   Normal            1 1\n";
	static const char pti_neg[] =
		"Number of blocks type     Unmovable      Movable\n"
		"Node 0, zone   Normal           -5 1\n";
	static const char idx[] =
		"Node 0, zone   Normal nan 1e300 0.500\n";
	static const char idx_ok[] =
		"Node 0, zone   Normal -1.000 0.250 1.000\n";
	struct fragml_snapshot *s = calloc(1, sizeof(*s));
	struct fragml_err err = { 0 };
	int64_t b[6];
	FILE *f;

	ASSERT_NE(NULL, s);
	f = text(pti_ok);
	ASSERT_EQ(0, fragml_pagetypeinfo_parse(f, "pti", b, &err)) TH_LOG("%s", err.msg);
	fclose(f);
	EXPECT_EQ(43, b[0]);
	EXPECT_EQ(7005, b[1]);
	EXPECT_EQ(-1, b[4]);	/* no CMA column */

	f = text(pti_sum);
	EXPECT_EQ(-ERANGE, fragml_pagetypeinfo_parse(f, "pti", b, &err));
	fclose(f);
	EXPECT_NE(NULL, strstr(err.msg, "pti: Unmovable block count")) TH_LOG("%s", err.msg);
	EXPECT_EQ(-1, b[0]);
	f = text(pti_neg);
	EXPECT_EQ(-ERANGE, fragml_pagetypeinfo_parse(f, "pti", b, &err));
	fclose(f);

	f = text(zones);
	fragml_buddyinfo_parse(f, s);
	fclose(f);
	ASSERT_EQ(1, s->n_zones);
	EXPECT_EQ(10 + 5 * 2 + (1 << 9) + (2 << 10), (long long)s->zones[0].free_pages);
	/* nan and 1e300 are no index: the line's values stop there */
	f = text(idx);
	fragml_index_parse(f, s, 1);
	fclose(f);
	EXPECT_EQ(0, s->zones[0].extfrag_index_pm[0]);
	EXPECT_EQ(0, s->zones[0].extfrag_index_pm[2]);
	f = text(idx_ok);
	fragml_index_parse(f, s, 0);
	fclose(f);
	EXPECT_EQ(-1000, s->zones[0].unusable_index_pm[0]);
	EXPECT_EQ(250, s->zones[0].unusable_index_pm[1]);
	EXPECT_EQ(1000, s->zones[0].unusable_index_pm[2]);
	free(s);
}

/* The gate collector needs the patched kernel's gate (selftests/vm covers the rest). */
TEST(gate_collect_refused)
{
	struct fragml_gate_collect_opts o = { .outdir = "/nonexistent-fragml-gate", .workload = "t" };
	struct fragml_gate_collector *c = NULL;
	struct fragml_err err = { 0 };

	o.explore_ppm = 1000001;
	EXPECT_EQ(-EINVAL, fragml_gate_collect_open(&c, &o, &err));
	EXPECT_NE(NULL, strstr(err.msg, "--explore 1000001")) TH_LOG("%s", err.msg);
	if (access(FRAGML_PIN_DIR "/fragml_gate_cfg", F_OK) == 0)
		SKIP(return, "a fallback gate is attached on this machine");
	o.explore_ppm = 500000;
	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-ENOENT, fragml_gate_collect_open(&c, &o, &err));
	EXPECT_NE(NULL, strstr(err.msg, "fragml_gate_cfg")) TH_LOG("%s", err.msg);
	EXPECT_EQ(NULL, c);
}

/* ---- allocation sites and the labels of item 3 ---- */

/* Rows of a lifetime CSV as name -> cell lookups. */
struct rows {
	int n, ncol;
	char *hdr[128];
	char **cell;	/* n * ncol */
};

static void rows_free(struct rows *r)
{
	for (int i = 0; i < r->n * r->ncol; i++)
		free(r->cell[i]);
	for (int i = 0; i < r->ncol; i++)
		free(r->hdr[i]);
	free(r->cell);
	memset(r, 0, sizeof(*r));
}

static int rows_read(struct rows *r, const char *path)
{
	FILE *f = fopen(path, "r");
	static char line[16384];
	int cap = 0;

	memset(r, 0, sizeof(*r));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int col = 0;

		line[strcspn(line, "\n")] = 0;
		if (!r->ncol) {
			for (char *p = line, *q; p; p = q ? q + 1 : NULL) {
				q = strchr(p, ',');
				if (q)
					*q = 0;
				r->hdr[r->ncol++] = strdup(p);
			}
			continue;
		}
		if (r->n == cap) {
			cap = cap ? cap * 2 : 4096;
			r->cell = realloc(r->cell, (size_t)cap * r->ncol * sizeof(char *));
		}
		for (char *p = line, *q; p && col < r->ncol; p = q ? q + 1 : NULL, col++) {
			q = strchr(p, ',');
			if (q)
				*q = 0;
			r->cell[r->n * r->ncol + col] = strdup(p);
		}
		while (col < r->ncol)
			r->cell[r->n * r->ncol + col++] = strdup("");
		r->n++;
	}
	fclose(f);
	return 0;
}

static const char *cell(const struct rows *r, int row, const char *name)
{
	for (int c = 0; c < r->ncol; c++)
		if (!strcmp(r->hdr[c], name))
			return r->cell[row * r->ncol + c];
	return NULL;
}

/* Child `name`: `rounds` rounds of 32 pipes holding a page each for `hold_us`. */
static void site_child(const char *name, int rounds, int hold_us)
{
	char page[4096];

	prctl(PR_SET_NAME, name);
	memset(page, 's', sizeof(page));
	for (int r = 0; r < rounds; r++) {
		int p[32][2];

		for (int i = 0; i < 32; i++) {
			if (pipe(p[i]))
				_exit(2);
			if (write(p[i][1], page, sizeof(page)) != sizeof(page))
				_exit(3);
		}
		usleep(hold_us);
		for (int i = 0; i < 32; i++) {
			close(p[i][0]);
			close(p[i][1]);
		}
	}
	_exit(0);
}

static pid_t site_run(const char *name, int rounds, int hold_us)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		site_child(name, rounds, hold_us);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return pid;
}

struct site_ctx {
	struct fragml_collector *c;
};

static void *collect_thread(void *arg)
{
	struct site_ctx *x = arg;
	struct fragml_err err = {};

	fragml_collect_run(x->c, NULL, &err);
	return NULL;
}

TEST(site_stable_online)
{
	const char *why = why_cannot_collect();
	struct fragml_collector *c = NULL;
	struct fragml_collect_opts o;
	struct fragml_err err = {};
	char dir[PATH_MAX], csv[PATH_MAX + 32], src_a[64], src_b[64], src_c[64], site[32] = "";
	struct rows r;
	int n_a = 0, n_a_site = 0, n_b = 0, n_b_site = 0, first_a = -1;
	int first_b = -1, ppk_first_a = -2, ppk_last_a = -2, ppk_first_b = -2, ppk_last_b = -2;
	int n_c = 0, c_site_first = -2, c_path_first = -2, c_path_last = -2, path_last_a = -2;
	pid_t a, b, cp;

	if (why)
		SKIP(return, "%s", why);
	mk_tmpdir(dir, sizeof(dir), "site");
	fragml_collect_opts_default(&o);
	o.outdir = dir;
	o.workload = "selftest";
	o.lifetime_T_s = 1;
	o.duration_s = 0;
	ASSERT_EQ(0, fragml_collect_open(&c, &o, &err)) TH_LOG("%s", fragml_err_msg(&err));
	{
		pthread_t th;
		struct site_ctx x = { .c = c };

		ASSERT_EQ(0, pthread_create(&th, NULL, collect_thread, &x));
		usleep(300000);
		a = site_run("fragml-sitet", 5, 1300000);	/* every page outlives T = 1 s */
		/* another program, the same pipe write path: its pages die young */
		cp = site_run("fragml-sitep", 12, 20000);
		b = site_run("fragml-sitet", 12, 20000);	/* then the first program's too */
		usleep(300000);
		fragml_collect_stop(c);
		pthread_join(th, NULL);
	}
	fragml_collect_close(c);
	snprintf(csv, sizeof(csv), "%s/lifetime.csv", dir);
	snprintf(src_a, sizeof(src_a), "fragml-sitet:%d", a);
	snprintf(src_b, sizeof(src_b), "fragml-sitet:%d", b);
	snprintf(src_c, sizeof(src_c), "fragml-sitep:%d", cp);
	ASSERT_EQ(0, rows_read(&r, csv));
	ASSERT_NE(NULL, cell(&r, 0, "site")) TH_LOG("no site column");
	/* the dominant site of process a's pipe pages */
	for (int i = 0; i < r.n && !site[0]; i++)
		if (!strcmp(cell(&r, i, "class"), "pipe") && !strcmp(cell(&r, i, "source"), src_a))
			snprintf(site, sizeof(site), "%s", cell(&r, i, "site"));
	ASSERT_EQ(16, (int)strlen(site)) TH_LOG("site '%s'", site);
	for (int i = 0; i < r.n; i++) {
		const char *s = cell(&r, i, "source"), *ppk = cell(&r, i, "site_long_ppk");
		const char *pp = cell(&r, i, "path_long_ppk");
		int is_a = !strcmp(s, src_a), is_b = !strcmp(s, src_b), v = ppk[0] ? atoi(ppk) : -1;
		int pv = pp[0] ? atoi(pp) : -1;

		if (strcmp(cell(&r, i, "class"), "pipe"))
			continue;
		if (!strcmp(s, src_c)) {
			if (!n_c++)
				c_site_first = v, c_path_first = pv;
			c_path_last = pv;
			continue;
		}
		if (!is_a && !is_b)
			continue;
		if (is_a) {
			path_last_a = pv;
			n_a++;
			n_a_site += !strcmp(cell(&r, i, "site"), site);
			if (strcmp(cell(&r, i, "site"), site))
				continue;
			if (first_a < 0)
				first_a = i, ppk_first_a = v;
			ppk_last_a = v;
		} else {
			n_b++;
			n_b_site += !strcmp(cell(&r, i, "site"), site);
			if (strcmp(cell(&r, i, "site"), site))
				continue;
			if (first_b < 0)
				first_b = i, ppk_first_b = v;
			ppk_last_b = v;
		}
	}
	TH_LOG("site %s: process a %d/%d pipe rows, b %d/%d; site_long_ppk a %d -> %d, b %d -> %d",
	       site, n_a_site, n_a, n_b_site, n_b, ppk_first_a, ppk_last_a, ppk_first_b, ppk_last_b);
	TH_LOG("another program, %d pipe rows: site_long_ppk %d at first; path_long_ppk %d -> %d (a's last %d)",
	       n_c, c_site_first, c_path_first, c_path_last, path_last_a);
	rows_free(&r);
	rm_tree(dir);
	ASSERT_GE(n_a, 150);
	ASSERT_GE(n_b, 300);
	/* stable: one site for the pipe pages, the same in the second process */
	ASSERT_GE(n_a_site * 10, n_a * 9);
	ASSERT_GE(n_b_site * 10, n_b * 9);
	/* online: unseen at first, all-long once a's first round was freed */
	ASSERT_EQ(-1, ppk_first_a);
	ASSERT_GE(ppk_last_a, 900);
	/* the other program: a site of its own, unseen at first; its path's
	 * record is a's, and its short-lived pages pull the path down */
	ASSERT_GE(n_c, 300);
	ASSERT_EQ(-1, c_site_first);
	ASSERT_GE(path_last_a, 900);
	ASSERT_GE(c_path_first, 900);
	ASSERT_LT(c_path_last, c_path_first - 300);
	/* and b's site (a's) was not moved by them: corrected down while b's
	 * pages die young */
	ASSERT_GE(ppk_first_b, 900);
	ASSERT_LT(ppk_last_b, ppk_first_b - 300);
}

TEST(life_class_consistent)
{
	const char *why = why_cannot_collect();
	struct fragml_collect_stats st;
	struct fragml_err err = {};
	char dir[PATH_MAX], csv[PATH_MAX + 32];
	struct rows r;
	int n[3] = {}, censored = 0, bad = 0, status = 0;

	if (why)
		SKIP(return, "%s", why);
	mk_tmpdir(dir, sizeof(dir), "lc");
	ASSERT_LT(0, collect_pipes(dir, &st, &status, &err)) TH_LOG("%s", fragml_err_msg(&err));
	snprintf(csv, sizeof(csv), "%s/lifetime.csv", dir);
	ASSERT_EQ(0, rows_read(&r, csv));
	ASSERT_NE(NULL, cell(&r, 0, "life_class"));
	ASSERT_NE(NULL, cell(&r, 0, "pollutes"));
	for (int i = 0; i < r.n; i++) {
		const char *life = cell(&r, i, "life_ms"), *lc = cell(&r, i, "life_class");
		const char *pol = cell(&r, i, "pollutes");
		long ms = life[0] ? atol(life) : -1;

		if (ms >= 0) {
			int want = ms < 1000 ? 0 : ms < 60000 ? 1 : 2;

			/* life_ms is rounded down: a row at exactly 999.9 ms is class 0 */
			if (!lc[0] || atoi(lc) != want) {
				if (bad++ < 3)
					TH_LOG("row %d: life_ms %ld, life_class '%s'", i, ms, lc);
			} else {
				n[want]++;
			}
		} else if (lc[0]) {
			/* alive at the end of a 4 s run: censored */
			if (bad++ < 3)
				TH_LOG("row %d: alive at the end, life_class '%s'", i, lc);
		} else {
			censored++;
		}
		if (strcmp(pol, "0") && strcmp(pol, "1")) {
			bad++;
		} else if (!strcmp(pol, "1") &&
			   (!strcmp(cell(&r, i, "migratetype"), "1") ||
			    strcmp(cell(&r, i, "block_mt"), "1") ||
			    !strcmp(cell(&r, i, "change_owner"), "1"))) {
			if (bad++ < 3)
				TH_LOG("row %d: pollutes without a mixing fallback", i);
		}
		/* the label at T agrees with life_ms */
		if (ms >= 0 && atoi(cell(&r, i, "label")) != (ms >= 1000) && ms != 999)
			bad++;
	}
	TH_LOG("%d rows: life_class 0/1/2 = %d/%d/%d, censored %d; need moments %llu", r.n, n[0],
	       n[1], n[2], censored, (unsigned long long)st.needs);
	rows_free(&r);
	rm_tree(dir);
	ASSERT_EQ(0, bad);
	ASSERT_GE(n[0], 60);	/* the 64 short pipes */
	ASSERT_GE(n[1], 60);	/* the 64 held 2.5 s */
}

/* Feed the labeller one record; page N is pfn N of a made-up vmemmap. */
#define FEED_VMEMMAP	0xffffea0000000000ull
#define PAGE(n)		(FEED_VMEMMAP + (n) * 64)
static void feed(struct fragml_collector *c, const void *rec, size_t len)
{
	collect_on_event(c, (void *)rec, len);
}

static void feed_alloc(struct fragml_collector *c, uint64_t page, uint64_t ts, int extfrag,
		       int block_mt, int change_owner)
{
	struct fragml_ev_alloc e;

	memset(&e, 0, sizeof(e));
	e.h.type = FRAGML_EV_ALLOC;
	e.h.tgid = 4242;
	e.h.ts = ts;
	e.page = PAGE(page);
	e.mt = 0;
	e.block_mt = block_mt;
	e.cls = FRAGML_CLASS_KERNEL;
	e.flags = extfrag ? FRAGML_ALLOC_F_EXTFRAG : 0;
	e.stack_id = -1;
	e.site = 0x1234;
	memcpy(e.comm, "feeder", 7);
	for (int i = 0; i < FRAGML_MAX_FEATURES; i++)
		e.v.f[i] = FRAGML_MISSING;
	e.v.f[FRAGML_F_CHANGE_OWNER] = extfrag ? change_owner : FRAGML_MISSING;
	feed(c, &e, sizeof(e));
}

static void feed_free(struct fragml_collector *c, uint64_t page, uint64_t ts)
{
	struct fragml_ev_free e = { .h = { .type = FRAGML_EV_FREE, .ts = ts }, .page = PAGE(page) };

	feed(c, &e, sizeof(e));
}

/* A collector with no BPF side, for records fed by hand; fed_free() undoes it. */
static int fed_init(struct fragml_collector *c, struct fragml_err *err)
{
	fragml_collect_opts_default(&c->o);
	c->err = err;
	return collect_tables_init(c, false);
}

static void fed_free(struct fragml_collector *c)
{
	collect_tables_free(c);
	free(c);
}

TEST(pollutes_label)
{
	struct fragml_collector *c = calloc(1, sizeof(*c));
	struct fragml_err err = {};
	char dir[PATH_MAX], csv[PATH_MAX + 32];
	const uint64_t S = 1000000000ull;
	struct rows r;
	/* page -> expected pollutes, life_class ("" = censored) */
	static const struct { uint64_t page; int pollutes; const char *lc; } want[] = {
		{ 1, 1, "1" },	/* mixing fallback, alive at the THP fallback */
		{ 2, 0, "1" },	/* fallback that claimed the block */
		{ 3, 0, "1" },	/* no fallback: an unmovable block */
		{ 4, 0, "0" },	/* mixing, freed before the need moment */
		{ 5, 1, "1" },	/* handed out from a per-CPU list the fallback refilled */
		{ 6, 0, "0" },	/* mixing, allocated after the last need moment */
		{ 7, 0, "2" },	/* freed after 61 s */
		{ 8, 1, "2" },	/* mixing, alive at the end, 65 s old: class 2; the deferral counts */
		{ 9, 0, "" },	/* alive at the end, 10 s old: censored */
	};
	int seen = 0;

	ASSERT_NE(NULL, c);
	mk_tmpdir(dir, sizeof(dir), "pol");
	ASSERT_EQ(0, fed_init(c, &err));
	c->vmemmap_base = FEED_VMEMMAP;
	snprintf(csv, sizeof(csv), "%s/lifetime.csv", dir);
	ASSERT_EQ(0, fragml_csv_open(&c->csv[FRAGML_HOOK_LIFETIME], csv, "w",
				     "block_mt,life_ms,pfn,site,life_class,pollutes", &err));
	feed_alloc(c, 1, 1 * S, 1, 1, 0);
	feed_alloc(c, 2, 1 * S, 1, 1, 1);
	feed_alloc(c, 3, 1 * S, 0, 0, 0);
	feed_alloc(c, 4, 1 * S, 1, 1, 0);
	feed_alloc(c, 5, 1 * S, 1, 1, 0);
	feed_alloc(c, 5, 1 * S + S / 5, 0, 0, 0);	/* its own allocation, later */
	feed_alloc(c, 7, 0, 0, 0, 0);
	feed_free(c, 4, 1 * S + S / 2);
	{
		struct fragml_ev_need nd = { .h = { .type = FRAGML_EV_NEED, .ts = 2 * S },
					     .kind = FRAGML_NEED_THP_FALLBACK, .order = 9 };
		struct fragml_ev_need lo = { .h = { .type = FRAGML_EV_NEED, .ts = 2 * S },
					     .kind = FRAGML_NEED_COMPACT_DEFERRED, .order = 3 };

		feed(c, &nd, sizeof(nd));
		feed(c, &lo, sizeof(lo));	/* a deferral below order 9: no need moment */
	}
	feed_free(c, 1, 2 * S + S / 2);
	feed_free(c, 2, 3 * S);
	feed_free(c, 3, 3 * S);
	feed_free(c, 5, 3 * S);
	feed_alloc(c, 6, 3 * S + S / 2, 1, 1, 0);
	feed_free(c, 6, 4 * S);
	feed_alloc(c, 8, 5 * S, 1, 1, 0);
	{
		struct fragml_ev_need nd = { .h = { .type = FRAGML_EV_NEED, .ts = 50 * S },
					     .kind = FRAGML_NEED_COMPACT_DEFERRED, .order = 9 };

		feed(c, &nd, sizeof(nd));
	}
	feed_alloc(c, 9, 60 * S, 0, 0, 0);
	feed_free(c, 7, 61 * S);
	collect_finish_allocs(c, 70 * S);
	ASSERT_EQ(0, fragml_csv_close(&c->csv[FRAGML_HOOK_LIFETIME], &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(2, (int)c->st.needs);
	ASSERT_EQ(0, rows_read(&r, csv));
	ASSERT_EQ(9, r.n);
	for (int i = 0; i < r.n; i++) {
		uint64_t pfn = strtoull(cell(&r, i, "pfn"), NULL, 10);

		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			if (want[k].page != pfn)
				continue;
			EXPECT_EQ(want[k].pollutes, atoi(cell(&r, i, "pollutes")))
				TH_LOG("page %llu", (unsigned long long)pfn);
			EXPECT_STREQ(want[k].lc, cell(&r, i, "life_class"))
				TH_LOG("page %llu", (unsigned long long)pfn);
			EXPECT_STREQ("0000000000001234", cell(&r, i, "site"));
			seen++;
		}
	}
	EXPECT_EQ(9, seen);
	rows_free(&r);
	fed_free(c);
	rm_tree(dir);
}

/* A region record and one fault in it (4 KB page `sub` of the 2 MB region). */
static void feed_region(struct fragml_collector *c, uint32_t tgid, uint64_t region, uint64_t ts)
{
	struct fragml_ev_region r = { .h = { .type = FRAGML_EV_REGION, .tgid = tgid, .ts = ts },
				      .region = region << 21 };
	struct fragml_ev_fault f = { .h = { .type = FRAGML_EV_FAULT, .tgid = tgid, .ts = ts },
				     .addr = region << 21 };

	snprintf(r.comm, sizeof(r.comm), "p%u", tgid);
	for (int i = 0; i < FRAGML_MAX_FEATURES; i++)
		r.v.f[i] = FRAGML_MISSING;
	feed(c, &r, sizeof(r));
	feed(c, &f, sizeof(f));
}

static void feed_exit(struct fragml_collector *c, uint32_t tgid, uint64_t ts)
{
	struct fragml_ev_hdr ex = { .type = FRAGML_EV_EXIT, .tgid = tgid, .ts = ts };

	feed(c, &ex, sizeof(ex));
}

TEST(region_exits)
{
	struct fragml_collector *c = calloc(1, sizeof(*c));
	struct fragml_err err = {};
	char dir[PATH_MAX], csv[PATH_MAX + 32];
	const uint64_t S = 1000000000ull;
	struct rows r;
	/* (source, first second) -> life_ms: to the process's exit, or to the end (100 s) */
	static const struct { const char *src; uint64_t first; const char *life_ms; } want[] = {
		{ "p100:100", 1, "9000" },	/* exit of 100 at 10 s */
		{ "p100:100", 2, "8000" },
		{ "p200:200", 1, "29000" },	/* exit of 200 at 30 s */
		{ "p100:100", 20, "40000" },	/* tgid 100 reused: its exit at 60 s */
		{ "p100:100", 40, "20000" },	/* region 1 of tgid 100 again */
		{ "p100:100", 70, "30000" },	/* a third tgid 100: alive at the end */
		{ "p300:300", 40, "60000" },	/* never exits */
	};
	int seen = 0;

	ASSERT_NE(NULL, c);
	mk_tmpdir(dir, sizeof(dir), "reg");
	ASSERT_EQ(0, fed_init(c, &err));
	snprintf(csv, sizeof(csv), "%s/thp_fault.csv", dir);
	ASSERT_EQ(0, fragml_csv_open(&c->csv[FRAGML_HOOK_THP_FAULT], csv, "w",
				     "touched,life_ms,huge", &err));
	feed_region(c, 100, 1, 1 * S);
	feed_region(c, 200, 1, 1 * S);
	/* many short processes around the followed ones: 2 s each */
	for (uint32_t t = 1000; t < 1200; t++) {
		feed_region(c, t, 5, 1 * S);
		feed_exit(c, t, 3 * S);
	}
	feed_region(c, 100, 2, 2 * S);
	feed_exit(c, 100, 10 * S);
	feed_region(c, 100, 20, 20 * S);
	feed_exit(c, 200, 30 * S);
	feed_region(c, 100, 1, 40 * S);
	feed_region(c, 300, 9, 40 * S);
	feed_exit(c, 100, 60 * S);
	feed_exit(c, 100, 65 * S);	/* nothing left to end */
	feed_region(c, 100, 2, 70 * S);
	collect_finish_regions(c, 100 * S);
	ASSERT_EQ(0, fragml_csv_close(&c->csv[FRAGML_HOOK_THP_FAULT], &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, rows_read(&r, csv));
	ASSERT_EQ(200 + 7, r.n);
	for (int i = 0; i < r.n; i++) {
		const char *src = cell(&r, i, "source"), *life = cell(&r, i, "life_ms");
		uint64_t first = strtoull(cell(&r, i, "ts_ns"), NULL, 10) / S;

		if (atoi(strchr(src, ':') + 1) >= 1000) {
			EXPECT_STREQ("2000", life) TH_LOG("%s", src);
			continue;
		}
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			if (strcmp(want[k].src, src) || want[k].first != first)
				continue;
			EXPECT_STREQ(want[k].life_ms, life) TH_LOG("%s from %llu s", src,
								    (unsigned long long)first);
			seen++;
		}
	}
	EXPECT_EQ(7, seen);
	rows_free(&r);
	fed_free(c);
	rm_tree(dir);
}

/* Random puts, gets and deletes of a few keys against a plain table: a put of
 * a present key behind a tombstone must not leave a stale copy. */
TEST(u64map_ops)
{
	struct u64map m;
	int64_t ref[64];
	uint32_t x = 12345;
	int key;

	ASSERT_EQ(0, u64map_init(&m, 8));
	for (int i = 0; i < 64; i++)
		ref[i] = -1;
	for (int op = 0; op < 200000; op++) {
		uint32_t k, v;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = x % 64;
		v = x >> 8;
		if ((x >> 6) % 3 == 0) {
			u64map_del(&m, k + 1);
			ref[k] = -1;
		} else {
			ASSERT_EQ(0, u64map_put(&m, k + 1, v));
			ref[k] = v;
		}
		for (key = 0; key < 64; key++) {
			ASSERT_EQ(ref[key], u64map_get(&m, (uint64_t)key + 1))
				TH_LOG("op %d key %d", op, key + 1);
		}
	}
	/* at most 64 keys: the tombstones of 200 000 operations do not grow it */
	EXPECT_LE(m.cap, 256) TH_LOG("%zu slots for at most 64 keys", m.cap);
	u64map_free(&m);
}

TEST_HARNESS_MAIN
