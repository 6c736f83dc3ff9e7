// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fragml top` and `fragml report`: thin commands over the identification
 * stage (loader/identify.c).  They read the maps the observe programs pin.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragml_cli.h"
#include "fragml_collect.h"
#include "fragml_identify.h"
#include "fragml_load.h"

static volatile sig_atomic_t top_stop;

static void on_int(int sig)
{
	(void)sig;
	top_stop = 1;
}

static const char *pin_dir(void)
{
	static char buf[PATH_MAX];

	fragml_pin_dir_of(getenv("FRAGML_BPFFS"), buf, sizeof(buf));	/* a longer one is cut: not found */
	return buf;
}

int fragml_cmd_top(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "interval", 1, 0, 'i' }, { "rows", 1, 0, 'n' }, { "count", 1, 0, 'c' },
		{ "help", 0, 0, 'h' }, {}
	};
	struct fragml_ident cur = {}, prev = {};
	struct fragml_err err = {};
	double interval = 1;
	unsigned int rows = 20;
	long count = -1;
	int opt, have_prev = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "i:n:c:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'i': interval = atof(optarg); break;
		case 'n': rows = strtoul(optarg, NULL, 0); break;
		case 'c': count = strtol(optarg, NULL, 0); break;
		case 'h':
			printf("usage: fragml top [-i SEC] [-n ROWS] [-c COUNT]\n"
			       "Live ranked table of who fragments memory: source, events/s, unmovable pages,\n"
			       "fallbacks (extfrag), model-predicted long-lived allocations, pageblocks\n"
			       "polluted and huge pages blocked.  Needs the observe programs (fragml-load).\n");
			return 0;
		default: return 2;
		}
	}
	if (interval < 0.1)
		interval = 0.1;
	signal(SIGINT, on_int);
	while (!top_stop && count != 0) {
		if (fragml_ident_read(&cur, pin_dir(), have_prev ? &prev : NULL, &err))
			return fragml_cli_fail("fragml top", &err);
		if (isatty(1))
			fputs("\033[H\033[2J", stdout);
		fragml_ident_table(&cur, stdout, rows);
		fflush(stdout);
		if (have_prev)
			fragml_ident_free(&prev);
		prev = cur;
		have_prev = 1;
		if (count > 0)
			count--;
		if (count != 0 && !top_stop)
			usleep((useconds_t)(interval * 1e6));
	}
	if (have_prev)
		fragml_ident_free(&prev);
	return 0;
}

static int report_pageblocks(int json)
{
	static const char *const mt[FRAGML_PB_NR_MT] = { "unmovable", "movable", "reclaimable",
							 "highatomic", "cma", "isolate" };
	struct fragml_pageblock_scan s;
	struct fragml_err err = {};

	if (fragml_pageblock_scan(&s, -1, &err))
		return fragml_cli_fail("fragml report --pageblocks", &err);
	if (json) {
		fragml_pageblock_json(&s, stdout);
		putchar('\n');
		return 0;
	}
	printf("%llu pageblocks scanned in %.2fs (%llu outside the buddy allocator skipped), %llu mixed\n",
	       (unsigned long long)s.blocks, s.elapsed_s, (unsigned long long)s.skipped_blocks,
	       (unsigned long long)s.mixed);
	printf("%-12s %8s %8s\n", "MIGRATETYPE", "BLOCKS", "MIXED");
	for (int i = 0; i < FRAGML_PB_NR_MT; i++)
		if (s.blocks_by_mt[i])
			printf("%-12s %8llu %8llu\n", mt[i], (unsigned long long)s.blocks_by_mt[i],
			       (unsigned long long)s.mixed_by_mt[i]);
	printf("%-12s %12s %12s %12s\n", "CLASS", "MIXED_BLOCKS", "WRONG_PAGES", "PAGES");
	for (int c = 0; c < FRAGML_NR_CLASSES; c++)
		if (s.pages_by_class[c])
			printf("%-12s %12llu %12llu %12llu\n", fragml_class_name(c),
			       (unsigned long long)s.mixed_by_class[c],
			       (unsigned long long)s.wrong_pages_by_class[c],
			       (unsigned long long)s.pages_by_class[c]);
	return 0;
}

int fragml_cmd_report(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", 0, 0, 'j' }, { "prometheus", 1, 0, 'p' }, { "rows", 1, 0, 'n' },
		{ "pageblocks", 0, 0, 'b' }, { "help", 0, 0, 'h' }, {}
	};
	struct fragml_ident id;
	struct fragml_err err = {};
	const char *prom = NULL;
	unsigned int rows = 0;
	int opt, json = 0, ret, pageblocks = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jp:n:bh", lo, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'b': pageblocks = 1; break;
		case 'p': prom = optarg; break;
		case 'n': rows = strtoul(optarg, NULL, 0); break;
		case 'h':
			printf("usage: fragml report [--json] [--prometheus FILE] [-n ROWS]\n"
			       "       fragml report --pageblocks [--json]\n"
			       "One snapshot of the identification table; --prometheus writes a node_exporter\n"
			       "textfile atomically (FILE.tmp + rename).  --pageblocks scans every pageblock\n"
			       "instead: mixed blocks per migratetype and the page classes in them\n"
			       "(docs/identification.md, \"Pageblock scan\"; pages classed by /proc/kpageflags,\n"
			       "so pipe/socket/stack pages need fragml-collect's tracking to be named).\n");
			return 0;
		default: return 2;
		}
	}
	if (pageblocks)
		return report_pageblocks(json);
	if (fragml_ident_read(&id, pin_dir(), NULL, &err))
		return fragml_cli_fail("fragml report", &err);
	if (prom) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", prom);
		f = fopen(tmp, "w");
		if (!f) {
			fragml_err_set(&err, -1, "%s: cannot create: %m", tmp);
			fragml_ident_free(&id);
			return fragml_cli_fail("fragml report", &err);
		}
		ret = fragml_ident_prometheus(&id, f, rows);
		if (fclose(f) || ret || rename(tmp, prom)) {
			fragml_err_set(&err, -1, "%s: write failed", prom);
			fragml_ident_free(&id);
			return fragml_cli_fail("fragml report", &err);
		}
	}
	if (json)
		ret = fragml_ident_json(&id, stdout, rows);
	else if (!prom)
		fragml_ident_table(&id, stdout, rows), ret = 0;
	else
		ret = 0;
	fragml_ident_free(&id);
	return ret ? 1 : 0;
}
