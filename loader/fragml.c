// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fragml: the operator CLI (load, status, probe, explain, ...).  Each subcommand is one function. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragml_cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "load", fragml_cmd_load, "validate a model.bin and publish it (fragml-load is the short form)" },
	{ "status", fragml_cmd_status, "show per hook: model version, SHA-256, size, decisions, mode" },
	{ "rollback", fragml_cmd_rollback, "put back the previous model of a hook" },
	{ "detach", fragml_cmd_detach, "detach every program and model: kernel default again" },
	{ "guard", fragml_cmd_guard, "the guard: who tried to change fragml's models; 'off' removes it" },
	{ "top", fragml_cmd_top, "live ranked table: who fragments memory now" },
	{ "analyze", fragml_cmd_analyze, "dataset summaries, label balance, drift, gnuplot figures" },
	{ "feed", fragml_cmd_feed, "identification feed: serve records to many readers, or dump them" },
	{ "report", fragml_cmd_report, "identification snapshot: table, --json, --prometheus FILE" },
	{ "probe", fragml_cmd_probe, "what this kernel offers: hooks, BTF, program types; the mode fragml runs in" },
	{ "daemon", fragml_cmd_daemon, "the watchdog: baseline, models, detach when they make things worse" },
	{ "explain", fragml_cmd_explain, "the tree paths behind a decision: feature, value, threshold, leaves" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: fragml COMMAND [OPTIONS]   (fragml COMMAND --help for details)\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nRead commands take --json.  Environment: FRAGML_BPFFS (bpffs mount, default\n"
		FRAGML_DEFAULT_BPFFS "), FRAGML_BTF (kernel BTF).  Manual: man fragml.\n");
}

static int open_existing(const char *prog, struct fragml_handle **h)
{
	struct fragml_err err = { 0 };
	struct fragml_open_opts oo;
	struct fragml_open_info oi;

	fragml_cli_open_opts(&oo);
	if (fragml_open(h, &oo, &oi, &err))
		return fragml_cli_fail(prog, &err);
	fragml_cli_open_notes(prog, &oi);
	return 0;
}

int fragml_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct fragml_err err = { 0 };
	struct fragml_handle *h;
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else {
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: fragml status [--json]\nPer hook: model version, SHA-256 and crc32 of the model file, trees, nodes, depth, map bytes,\ndecisions per action; the mode (observe or enforce); the kernel memory\nfragml holds (each map and program, as the kernel accounts it).\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (open_existing("fragml status", &h))
		return 1;
	ret = fragml_cli_status(stdout, h, json, &err);
	fragml_close(h);
	return ret ? fragml_cli_fail("fragml status", &err) : 0;
}

int fragml_cmd_rollback(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct fragml_open_opts oo;
	bool json = false;
	int c, hook;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			json = true;
			continue;
		}
		fprintf(c == 'h' ? stdout : stderr,
			"Usage: fragml rollback [--json] HOOK   (" FRAGML_HOOK_LIST ")\n"
			"Put back the previous model of HOOK (again: forward); prints the version and\n"
			"SHA-256 that now decides.  The same as fragml-load --rollback HOOK.\n");
		return c == 'h' ? 0 : 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "fragml rollback: give one hook (" FRAGML_HOOK_LIST ")\n");
		return 2;
	}
	hook = fragml_hook_from_name(argv[optind]);
	if (hook < 0) {
		fprintf(stderr, "fragml rollback: unknown hook '%s' (" FRAGML_HOOK_LIST ")\n",
			argv[optind]);
		return 2;
	}
	fragml_cli_open_opts(&oo);
	return fragml_cli_rollback("fragml rollback", &oo, (unsigned int)hook, json, false);
}

int fragml_cmd_detach(int argc, char **argv)
{
	struct fragml_err err = { 0 };
	struct fragml_open_opts oo;

	if (argc > 1) {
		bool help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");

		fprintf(help ? stdout : stderr,
			"Usage: fragml detach\nUnpin every fragml program, policy and model: the kernel decides alone again.\n");
		return help ? 0 : 2;
	}
	fragml_cli_open_opts(&oo);
	if (fragml_detach(&oo, &err))
		return fragml_cli_fail("fragml detach", &err);
	printf("fragml detach: all programs and models removed\n");
	return 0;
}

int fragml_cmd_guard(int argc, char **argv)
{
	static const char usage_text[] =
		"Usage: fragml guard [status] [--json]\n"
		"       fragml guard off\n"
		"The guard (BPF-LSM, docs/guard.md) refuses with EPERM changes to fragml's\n"
		"maps, links and pins by any program but fragml's own tools; status shows\n"
		"whether it is active, what it refused and who tried.  'off' removes it\n"
		"(fragml-load installs it again with the next model).\n";
	struct fragml_err err = { 0 };
	struct fragml_open_opts oo;
	struct fragml_handle *h;
	bool json = false, off = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json = true;
		} else if (!strcmp(argv[i], "off")) {
			off = true;
		} else if (!strcmp(argv[i], "status")) {
			continue;
		} else {
			bool help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");

			fputs(usage_text, help ? stdout : stderr);
			return help ? 0 : 2;
		}
	}
	if (off) {
		fragml_cli_open_opts(&oo);
		if (fragml_guard_remove(&oo, &err))
			return fragml_cli_fail("fragml guard", &err);
		printf("fragml guard: off (changes to fragml's pins are no longer refused)\n");
		return 0;
	}
	if (open_existing("fragml guard", &h))
		return 1;
	ret = fragml_cli_guard(stdout, h, json, &err);
	fragml_close(h);
	return ret ? fragml_cli_fail("fragml guard", &err) : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("fragml %s (feature schema %d, model format %d)\n", FRAGML_VERSION_STR,
		       FRAGML_SCHEMA_VERSION, FRAGML_FORMAT_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			optind = 1;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "fragml: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
