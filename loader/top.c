// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fragml top` and `fragml report`: thin commands over the identification
 * stage (loader/identify.c).  They read the maps the observe programs pin.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragml_cli.h"
#include "fragml_identify.h"

static volatile sig_atomic_t top_stop;

static void on_int(int sig)
{
	(void)sig;
	top_stop = 1;
}

static const char *pin_dir(void)
{
	const char *e = getenv("FRAGML_BPFFS");
	static char buf[512];

	if (!e)
		return "/sys/fs/bpf/fragml";
	snprintf(buf, sizeof(buf), "%s/fragml", e);
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

int fragml_cmd_report(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", 0, 0, 'j' }, { "prometheus", 1, 0, 'p' }, { "rows", 1, 0, 'n' },
		{ "help", 0, 0, 'h' }, {}
	};
	struct fragml_ident id;
	struct fragml_err err = {};
	const char *prom = NULL;
	unsigned int rows = 0;
	int opt, json = 0, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jp:n:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'p': prom = optarg; break;
		case 'n': rows = strtoul(optarg, NULL, 0); break;
		case 'h':
			printf("usage: fragml report [--json] [--prometheus FILE] [-n ROWS]\n"
			       "One snapshot of the identification table; --prometheus writes a node_exporter\n"
			       "textfile atomically (FILE.tmp + rename).\n");
			return 0;
		default: return 2;
		}
	}
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
