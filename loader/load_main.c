// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fragml-load: validate a model.bin and publish it atomically into the
 * running kernel, then exit.  What it loaded stays in force (pinned in bpffs).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fragml_cli.h"

static const char *prog = "fragml-load";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: fragml-load [OPTIONS] MODEL.bin\n"
		"       fragml-load --check MODEL.bin...\n"
		"       fragml-load --rollback HOOK\n"
		"Validate a fragml model and publish it atomically into the running kernel.\n"
		"The previous model of the same hook stays pinned for --rollback.\n\n"
		"  -c, --check        validate only; touch nothing (no root needed)\n"
		"  -r, --rollback H   put back the previous model of hook H\n"
		"                     (lifetime, thp_fault, compaction)\n"
		"      --no-policy    observe only, even on a kernel with the fragml struct_ops\n"
		"      --no-guard     do not install the guard (BPF-LSM: only fragml's tools may\n"
		"                     change its maps, links and pins; docs/guard.md)\n"
		"      --identify     also identify who fragments memory (fragml top/report):\n"
		"                     source maps sized to RAM; replaces running observe\n"
		"                     programs that lack it\n"
		"      --track-pages N  follow at most N sampled pages to their free (the\n"
		"                     task_long_ppk feature; default RAM / 2 MB, 0 = off)\n"
		"                     Both apply when the observe programs are attached.\n"
		"  -j, --json         print the result as JSON\n"
		"  -q, --quiet        print nothing on success\n"
		"  -h, --help         this text\n\n"
		"Environment: FRAGML_BPFFS (bpffs mount, default /sys/fs/bpf),\n"
		"FRAGML_BTF (kernel BTF, default /sys/kernel/btf/vmlinux).\n"
		"Exit status: 0 on success, 1 on any error (the running model is unchanged).\n");
}

static void report(const char *what, const char *hook, uint32_t version,
		   const struct fragml_model *m, const struct fragml_open_info *oi, bool json)
{
	if (json) {
		struct json_object *o = json_object_new_object();
		char crc[16];

		json_object_object_add(o, "action", json_object_new_string(what));
		json_object_object_add(o, "hook", json_object_new_string(hook));
		json_object_object_add(o, "version", json_object_new_int64(version));
		if (m) {
			snprintf(crc, sizeof(crc), "%08x", m->crc32);
			json_object_object_add(o, "crc32", json_object_new_string(crc));
			json_object_object_add(o, "trees", json_object_new_int(m->n_trees));
			json_object_object_add(o, "nodes", json_object_new_int(m->n_nodes));
			json_object_object_add(o, "max_depth", json_object_new_int(m->max_depth));
		}
		if (oi) {
			json_object_object_add(o, "mode",
					       json_object_new_string(oi->enforce ? "enforce" : "observe"));
			json_object_object_add(o, "guard",
					       json_object_new_string(oi->guard_active ? "active" : "unavailable"));
			if (!oi->guard_active && oi->guard_reason[0])
				json_object_object_add(o, "guard_reason",
						       json_object_new_string(oi->guard_reason));
		}
		printf("%s\n", json_object_to_json_string(o));
		json_object_put(o);
		return;
	}
	if (m)
		printf("%s: %s %s model%s%.0u (crc32 %08x, %u trees, %u nodes, depth %u)%s\n", prog,
		       what, hook, version ? " v" : "", version, m->crc32, m->n_trees, m->n_nodes, m->max_depth,
		       oi ? (oi->enforce ? " - enforce mode" : " - observe mode (shadow decisions)") : "");
	else
		printf("%s: %s %s model: now v%u\n", prog, what, hook, version);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "rollback", required_argument, NULL, 'r' },
		{ "no-policy", no_argument, NULL, 'P' },
		{ "no-guard", no_argument, NULL, 'G' },
		{ "identify", no_argument, NULL, 'I' },
		{ "track-pages", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct fragml_err err = { 0 };
	struct fragml_open_opts oo;
	struct fragml_open_info oi;
	struct fragml_handle *h = NULL;
	struct fragml_model *m = NULL;
	const char *rollback = NULL;
	bool check = false, json = false, quiet = false;
	uint32_t version = 0;
	int c, ret = 1;

	fragml_cli_open_opts(&oo);
	oo.guard = true;
	while ((c = getopt_long(argc, argv, "cr:jqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': check = true; break;
		case 'r': rollback = optarg; break;
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
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rollback) {
		int hook = fragml_hook_from_name(rollback);

		if (optind != argc) {
			fprintf(stderr, "%s: --rollback takes a hook, not a model file\n", prog);
			return 2;
		}
		if (hook < 0) {
			fprintf(stderr, "%s: unknown hook '%s' (lifetime, thp_fault, compaction)\n", prog,
				rollback);
			return 2;
		}
		if (fragml_open(&h, &oo, &oi, &err) || fragml_rollback(h, (unsigned int)hook, &version, &err)) {
			fragml_close(h);
			return fragml_cli_fail(prog, &err);
		}
		if (!quiet)
			report("rolled back", rollback, version, NULL, NULL, json);
		fragml_close(h);
		return 0;
	}
	if (optind == argc || (!check && optind + 1 != argc)) {
		usage(stderr);
		return 2;
	}
	m = malloc(sizeof(*m));
	if (!m) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	if (check) {
		/* every file is checked; the status says whether all were valid */
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
			if (!quiet)
				report("valid", fragml_hook_name(m->hook), 0, m, NULL, json);
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
	if (fragml_publish(h, m, &version, &err)) {
		ret = fragml_cli_fail(prog, &err);
		goto out;
	}
	if (!quiet)
		report("published", fragml_hook_name(m->hook), version, m, &oi, json);
	ret = 0;
out:
	fragml_close(h);
	free(m);
	return ret;
}
