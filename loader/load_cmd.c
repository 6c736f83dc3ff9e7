// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fragml load` and its short form fragml-load: validate a model.bin and
 * publish it atomically into the running kernel, then exit.  What it loaded
 * stays in force (pinned in bpffs).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canary.h"
#include "fragml_policy.h"
#include "fragml_cli.h"

static const char *prog = "fragml-load";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] MODEL.bin\n"
		"       %s --check MODEL.bin...\n"
		"       %s --rollback HOOK\n"
		"       %s --unpublish HOOK\n"
		"Validate a fragml model and publish it atomically into the running kernel.\n"
		"The previous model of the same hook stays pinned for --rollback.\n\n"
		"  -c, --check        validate only; touch nothing (no root needed)\n"
		"      --mode M       with --check: the running mode to check against, observe\n"
		"                     or enforce (default: the mode a load would run in here)\n"
		"  -r, --rollback H   put back the previous model of hook H\n"
		"                     (" FRAGML_HOOK_LIST ")\n"
		"      --unpublish H  take hook H's model off: the kernel default decides\n"
		"                     again; --rollback H puts the model back\n"
		"      --no-policy    observe only, even on a kernel with the fragml struct_ops\n"
		"      --no-guard     do not install the guard (BPF-LSM: only fragml's tools may\n"
		"                     change its maps, links and pins; docs/guard.md)\n"
		"      --identify     also identify who fragments memory (fragml top/report):\n"
		"                     source maps sized to RAM; replaces running observe\n"
		"                     programs that lack it\n"
		"      --track-pages N  follow at most N sampled pages to their free (the\n"
		"                     task_long_ppk feature; default RAM / 2 MB, 0 = off)\n"
		"                     Both apply when the observe programs are attached.\n"
		"      --canary       MODEL.bin becomes its hook's candidate: evaluated beside the\n"
		"                     live model and counted (fragml status), never enforced\n"
		"      --promote H    the candidate of hook H becomes the live model\n"
		"      --drop-canary H  remove the candidate of hook H\n"
		"      --cgroup PATH  enforce only for tasks in this cgroup v2 directory and below\n"
		"                     (repeatable, at most 16; replaces the scope); other tasks\n"
		"                     get the kernel default.  With or without MODEL.bin\n"
		"      --all-cgroups  enforce for every task again\n"
		"                     These need the enforcing policy (patched kernel).\n"
		"      --site-table F seed the site lifetime table (the site_long_ppk feature) with\n"
		"                     fragml-train --site-table F; with or without MODEL.bin.  A bad\n"
		"                     file is refused whole, before anything is written\n"
		"  -j, --json         print the result as JSON\n"
		"  -q, --quiet        print nothing on success\n"
		"  -h, --help         this text\n\n"
		"Environment: FRAGML_BPFFS (bpffs mount, default " FRAGML_DEFAULT_BPFFS "),\n"
		"FRAGML_BTF (kernel BTF, default /sys/kernel/btf/vmlinux).\n"
		"Exit status: 0 on success, 1 on any error (the running model is unchanged).\n"
		"Models are named by the SHA-256 of their file (as sha256sum prints it) in\n"
		"every line this command prints and in fragml status.\n"
		"Needs root: CAP_BPF and CAP_PERFMON to load and attach the programs,\n"
		"CAP_SYS_ADMIN to pin them in bpffs and read other BPF objects by id.\n",
		prog, prog, prog, prog);
}

/* --site-table without a model: into the loaded (or now loaded) observe programs. */
static int site_table_cmd(const struct fragml_open_opts *oo0, const struct fragml_site_counts *t,
			  const char *path, bool json, bool quiet)
{
	struct fragml_open_opts oo = *oo0;
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	int n;

	oo.install = true;
	if (fragml_open(&h, &oo, NULL, &err))
		return fragml_cli_fail(prog, &err);
	n = fragml_site_table_publish(h, t, &err);
	fragml_close(h);
	if (n < 0)
		return fragml_cli_fail(prog, &err);
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "action", json_object_new_string("site_table"));
		json_object_object_add(o, "file", json_object_new_string(path));	/* escaped */
		json_object_object_add(o, "sites", json_object_new_int(n));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else if (!quiet)
		printf("%s: site lifetime table: %d sites from %s\n", prog, n, path);
	return 0;
}

/* --promote, --drop-canary, --cgroup without a model: on what is loaded. */
static int canary_scope_cmd(const struct fragml_open_opts *oo, const char *promote, const char *drop,
			    const char **cgroups, int n_cgroups, bool all_cgroups, bool json, bool quiet)
{
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	const char *hname = promote ? promote : drop;
	int hook = hname ? fragml_hook_from_name(hname) : 0, ret = 1;

	if (hook < 0) {
		fprintf(stderr, "%s: unknown hook '%s' (" FRAGML_HOOK_LIST ")\n", prog, hname);
		return 2;
	}
	if (fragml_open(&h, oo, NULL, &err))
		return fragml_cli_fail(prog, &err);
	if (promote) {
		char sha[FRAGML_SHA256_HEX];
		uint32_t version;

		if (fragml_canary_promote(h, (unsigned int)hook, &version, sha, &err))
			goto fail;
		if (json)
			printf("{ \"action\": \"promoted\", \"hook\": \"%s\", \"version\": %u, \"sha256\": \"%s\" }\n",
			       promote, version, sha);
		else if (!quiet)
			printf("%s: promoted the %s candidate: live v%u (sha256 %s)\n", prog, promote, version, sha);
	}
	if (drop) {
		if (fragml_canary_clear(h, (unsigned int)hook, &err))
			goto fail;
		if (!quiet && !json)
			printf("%s: %s candidate removed\n", prog, drop);
	}
	if (n_cgroups || all_cgroups) {
		if (fragml_scope_set(h, cgroups, n_cgroups, &err))
			goto fail;
		if (!quiet && !json)
			printf("%s: enforcing for %s\n", prog, n_cgroups ? "the given cgroups only" : "every task");
	}
	ret = 0;
	goto out;
fail:
	ret = fragml_cli_fail(prog, &err);
out:
	fragml_close(h);
	return ret;
}

int fragml_cmd_load_as(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'M' },
		{ "rollback", required_argument, NULL, 'r' },
		{ "unpublish", required_argument, NULL, 'U' },
		{ "no-policy", no_argument, NULL, 'P' },
		{ "no-guard", no_argument, NULL, 'G' },
		{ "identify", no_argument, NULL, 'I' },
		{ "track-pages", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "canary", no_argument, NULL, 'C' },
		{ "promote", required_argument, NULL, 'R' },
		{ "drop-canary", required_argument, NULL, 'D' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "all-cgroups", no_argument, NULL, 'A' },
		{ "site-table", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct fragml_err err = { 0 };
	struct fragml_open_opts oo;
	struct fragml_open_info oi;
	struct fragml_handle *h = NULL;
	struct fragml_model *m = NULL;
	const char *rollback = NULL, *unpublish = NULL, *promote = NULL, *drop = NULL;
	const char *site_file = NULL;
	struct fragml_site_counts sites = {};
	const char *cgroups[FRAGML_SCOPE_MAX];
	int n_cgroups = 0, n_old_scope = -1;
	uint64_t old_scope[FRAGML_SCOPE_MAX];
	bool check = false, json = false, quiet = false, canary = false, all_cgroups = false;
	uint32_t version = 0;
	int c, ret = 1, mode = -1;

	prog = name;
	fragml_cli_open_opts(&oo);
	oo.guard = true;
	while ((c = getopt_long(argc, argv, "cr:jqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': check = true; break;
		case 'M':
			mode = !strcmp(optarg, "observe") ? FRAGML_MODE_OBSERVE :
			       !strcmp(optarg, "enforce") ? FRAGML_MODE_ENFORCE : -2;
			if (mode == -2) {
				fprintf(stderr, "%s: --mode %s: give observe or enforce\n", prog, optarg);
				return 2;
			}
			break;
		case 'r': rollback = optarg; break;
		case 'U': unpublish = optarg; break;
		case 'P': oo.no_policy = true; break;
		case 'G': oo.guard = false; break;
		case 'I': oo.identify = true; break;
		case 'T': {
			char *end;
			long long n = strtoll(optarg, &end, 0);

			if (*end || n < 0 || n > (1LL << 26)) {
				fprintf(stderr, "%s: --track-pages %s: give pages, 0..%d\n", prog, optarg, 1 << 26);
				return 2;
			}
			oo.track_pages = n ? n : -1;
			break;
		}
		case 'j': json = true; break;
		case 'q': quiet = true; break;
		case 'C': canary = true; break;
		case 'R': promote = optarg; break;
		case 'D': drop = optarg; break;
		case 'A': all_cgroups = true; break;
		case 'S': site_file = optarg; break;
		case 'g':
			if (n_cgroups == FRAGML_SCOPE_MAX) {
				fprintf(stderr, "%s: --cgroup: at most %d cgroups\n", prog, FRAGML_SCOPE_MAX);
				return 2;
			}
			cgroups[n_cgroups++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rollback || unpublish) {
		const char *name = rollback ? rollback : unpublish;
		int hook = fragml_hook_from_name(name);

		if (optind != argc || (rollback && unpublish)) {
			fprintf(stderr, "%s: --%s takes one hook, not a model file\n", prog,
				rollback ? "rollback" : "unpublish");
			return 2;
		}
		if (hook < 0) {
			fprintf(stderr, "%s: unknown hook '%s' (" FRAGML_HOOK_LIST ")\n",
				prog, name);
			return 2;
		}
		if (rollback)
			return fragml_cli_rollback(prog, &oo, (unsigned int)hook, json, quiet);
		if (fragml_open(&h, &oo, NULL, &err) || fragml_unpublish(h, (unsigned int)hook, &err)) {
			ret = fragml_cli_fail(prog, &err);
			fragml_close(h);
			return ret;
		}
		fragml_close(h);
		if (json)
			printf("{ \"action\": \"unpublished\", \"hook\": \"%s\" }\n", name);
		else if (!quiet)
			printf("%s: unpublished %s: the kernel default decides (--rollback %s puts it back)\n",
			       prog, name, name);
		return 0;
	}
	if (site_file) {
		/* validated whole before anything is opened or written */
		if (check || rollback || unpublish || promote || drop || canary || optind + 1 < argc) {
			fprintf(stderr, "%s: --site-table goes with a plain load of at most one MODEL.bin\n", prog);
			return 2;
		}
		if (fragml_site_table_read(site_file, &sites, &err))
			return fragml_cli_fail(prog, &err);
		if (optind == argc) {
			ret = site_table_cmd(&oo, &sites, site_file, json, quiet);
			fragml_site_counts_free(&sites);
			return ret;
		}
	}
	if (promote || drop || ((n_cgroups || all_cgroups) && optind == argc))
		return canary_scope_cmd(&oo, promote, drop, cgroups, n_cgroups, all_cgroups, json, quiet);
	if (optind == argc || (!check && optind + 1 != argc)) {
		usage(stderr);
		return 2;
	}
	m = malloc(sizeof(*m));
	if (!m) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	if (mode >= 0 && !check) {
		fprintf(stderr, "%s: --mode goes with --check (a load runs in the mode the kernel allows; --no-policy for observe)\n",
			prog);
		ret = 2;
		goto out;
	}
	if (check) {
		/* every file is checked; the status says whether all were valid */
		if (mode < 0)
			mode = !oo.no_policy && fragml_policy_supported(NULL) == 1 ?
			       FRAGML_MODE_ENFORCE : FRAGML_MODE_OBSERVE;
		ret = 0;
		for (int i = optind; i < argc; i++) {
			if (fragml_model_read_file(m, argv[i], &err)) {
				ret = fragml_cli_fail(prog, &err);
				continue;
			}
			/* what publishing would refuse, --check refuses too */
			if (m->schema != FRAGML_SCHEMA_VERSION) {
				fragml_err_set(&err, -EPROTO,
					       "%s: feature schema %u, this fragml implements schema %d: retrain the model for schema %d or use a fragml of schema %u",
					       argv[i], m->schema, FRAGML_SCHEMA_VERSION, FRAGML_SCHEMA_VERSION, m->schema);
				ret = fragml_cli_fail(prog, &err);
				continue;
			}
			if (fragml_model_check_mode(m, mode, &err)) {
				ret = fragml_cli_fail(prog, &err);
				continue;
			}
			if (!quiet)
				fragml_cli_report_model(prog, "valid", 0, m, NULL, json);
		}
		goto out;
	}
	if (fragml_model_read_file(m, argv[optind], &err)) {
		ret = fragml_cli_fail(prog, &err);
		goto out;
	}
	oo.install = true;
	if (fragml_open(&h, &oo, &oi, &err)) {
		ret = fragml_cli_fail(prog, &err);
		goto out;
	}
	if (!quiet && !json)
		fragml_cli_open_notes(prog, &oi);
	/* The scope before the model: a model published with --cgroup never decides
	 * for a task outside it.  Put back if the model is refused. */
	if (n_cgroups || all_cgroups) {
		n_old_scope = fragml_scope_get(h, old_scope, &err);
		if (n_old_scope < 0 || fragml_scope_set(h, cgroups, n_cgroups, &err)) {
			ret = fragml_cli_fail(prog, &err);
			goto out;
		}
	}
	if (canary) {
		if (fragml_canary_set(h, m, &err)) {
			ret = fragml_cli_fail(prog, &err);
			goto restore_scope;
		}
		if (!quiet)
			fragml_cli_report_model(prog, "canary (counted, not enforced):", 0, m, &oi, json);
	} else {
		if (fragml_publish(h, m, &version, &err)) {
			ret = fragml_cli_fail(prog, &err);
			goto restore_scope;
		}
		/* the one line saying the kernel refused the compiled form (the maps decide) */
		if (!fragml_compiled_last(h)->compiled && fragml_compiled_last(h)->note[0])
			fprintf(stderr, "%s: %s\n", prog, fragml_compiled_last(h)->note);
		if (!quiet)
			fragml_cli_report_model(prog, "published", version, m, &oi, json);
	}
	if (site_file) {
		int n = fragml_site_table_publish(h, &sites, &err);

		if (n < 0) {
			ret = fragml_cli_fail(prog, &err);
			goto out;
		}
		if (!quiet && !json)
			printf("%s: site lifetime table: %d sites from %s\n", prog, n, site_file);
	}
	if ((n_cgroups || all_cgroups) && !quiet && !json)
		printf("%s: enforcing for %s\n", prog, n_cgroups ? "the given cgroups only" : "every task");
	ret = 0;
	goto out;
restore_scope:
	if (n_old_scope >= 0 && fragml_scope_set_ids(h, old_scope, n_old_scope, &err))
		fragml_cli_fail(prog, &err);
out:
	fragml_close(h);
	free(m);
	fragml_site_counts_free(&sites);
	return ret;
}

int fragml_cmd_load(int argc, char **argv)
{
	return fragml_cmd_load_as("fragml load", argc, argv);
}
